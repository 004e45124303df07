/* A VM per child process. After fork the child inherits the /dev/kvm fd
 * (struct kq_kvm) and may create its own VMs with it; the parent's VMs are
 * of no use there (KVM refuses ioctls from another mm, guest RAM is not even
 * mapped: MADV_DONTFORK), and the child must not destroy them. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int kq_run_in_child(struct kq_kvm *kvm, int (*fn)(struct kq_kvm *kvm, void *ctx), void *ctx,
		    double time_limit_s, int *status)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		return kq_err_errno("fork");
	if (pid == 0) {
		/* A tenant must not outlive the process that runs it (killed with
		 * SIGKILL, say): it would hold its VM and every fd it inherited. The
		 * signal follows the forking thread, which waits below for the child. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(254);
		int r = fn(kvm, ctx);
		_exit(r < 0 ? 255 : r & 0xff);
	}
	uint64_t until = time_limit_s > 0 ? kq_deadline_ns(time_limit_s) : 0;
	int ws = 0;
	for (;;) {
		pid_t w = waitpid(pid, &ws, until ? WNOHANG : 0);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return kq_err_errno("waitpid %d", (int)pid);
		if (until && kq_now_ns() >= until) {
			kill(pid, SIGKILL);
			waitpid(pid, &ws, 0);
			return kq_err_set("child %d: killed after its %.1f s time limit", (int)pid,
					  time_limit_s);
		}
		if (until) {
			struct timespec ts = {0, 2000000}; /* 2 ms between looks */
			nanosleep(&ts, NULL);
		}
	}
	if (WIFSIGNALED(ws))
		return kq_err_set("child %d: killed by signal %d (%s)", (int)pid, WTERMSIG(ws),
				  strsignal(WTERMSIG(ws)));
	*status = WEXITSTATUS(ws);
	return 0;
}
