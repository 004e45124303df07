/* Integration: several VMs at once. Each round runs 4 VMs on threads of this
 * process (each with its own vCPU threads, ucall handler and watchdog) while
 * 2 more run in forked children (kq_run_in_child, built from the inherited
 * /dev/kvm fd); rounds repeat, and the process ends with the file
 * descriptors it started with (ASan's leak check covers memory in the
 * sanitizer build). Needs /dev/kvm; without it, one SKIP. */
#include "tests/integration/vmm_test.h"

#include <dirent.h>

#define THREAD_VMS 4
#define CHILD_VMS  2
#define STEPS	   20

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Thread mode: the ucall handler answers each SYNC as vmm.steps expects. */
static int answer(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	if (uc->kind != KQ_UC_SYNC)
		return 0;
	return kq_vcpu_ucall_reply(v, 1, uc->args[0] * 7);
}

struct job {
	pthread_t thread;
	struct kq_kvm *kvm;
	int rc;
	char failure[512];
};

static int one_vm(struct kq_kvm *k, char *failure, size_t len)
{
	struct kq_vm_config c = vmm_test_config("vmm.steps", 2);
	c.args[0] = STEPS;
	c.time_limit_s = 20;
	c.test_mem = 2ULL << 20;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, k, &c) < 0) {
		snprintf(failure, len, "create: %s", kq_err());
		return -1;
	}
	kq_vm_set_ucall_handler(vm, answer, NULL);
	int r = kq_vm_run(vm);
	snprintf(failure, len, "%s", r < 0 ? kq_vm_failure(vm) : "");
	for (int i = 0; i < kq_vm_nvcpus(vm) && r == 0; i++)
		if (kq_vcpu_ucall_count(kq_vm_vcpu(vm, i)) != STEPS + 2) {
			snprintf(failure, len, "vCPU %d: %llu ucalls", i,
				 (unsigned long long)kq_vcpu_ucall_count(kq_vm_vcpu(vm, i)));
			r = -1;
		}
	kq_vm_destroy(vm);
	return r;
}

static void *thread_main(void *arg)
{
	struct job *j = arg;
	j->rc = one_vm(j->kvm, j->failure, sizeof(j->failure));
	return NULL;
}

static int child_main(struct kq_kvm *k, void *ctx)
{
	char failure[512];
	int r = one_vm(k, failure, sizeof(failure));
	if (r < 0)
		fprintf(stderr, "child VM: %s\n", failure);
	return r < 0 ? 1 : 0;
}

int main(void)
{
	vmm_test_open();
	int fds0 = count_fds();
	int rounds = vmm_test_emulated() ? 2 : 3;
	for (int round = 1; round <= rounds; round++) {
		struct job jobs[THREAD_VMS];
		int started = 0;
		for (int i = 0; i < THREAD_VMS; i++) {
			jobs[i] = (struct job){.kvm = &kvm, .rc = -1};
			if (pthread_create(&jobs[i].thread, NULL, thread_main, &jobs[i]) == 0)
				started++;
		}
		/* The children fork while the threads' VMs run. */
		int st[CHILD_VMS], rc[CHILD_VMS];
		char cerr[CHILD_VMS][256];
		for (int i = 0; i < CHILD_VMS; i++) {
			st[i] = -1;
			rc[i] = kq_run_in_child(&kvm, child_main, NULL, 60, &st[i]);
			snprintf(cerr[i], sizeof(cerr[i]), "%s", rc[i] < 0 ? kq_err() : "");
		}
		int good = 0;
		char first[512] = "";
		for (int i = 0; i < started; i++) {
			pthread_join(jobs[i].thread, NULL);
			good += jobs[i].rc == 0;
			if (jobs[i].rc && !first[0])
				snprintf(first, sizeof(first), "%s", jobs[i].failure);
		}
		ok(started == THREAD_VMS && good == THREAD_VMS,
		   "round %d: %d VMs on threads each ran %d SYNCs on 2 vCPUs (%s)", round,
		   THREAD_VMS, STEPS, first);
		for (int i = 0; i < CHILD_VMS; i++)
			ok(rc[i] == 0 && st[i] == 0,
			   "round %d: the VM in child process %d ran (status %d %s)", round, i,
			   st[i], cerr[i]);
	}
	int fds1 = count_fds();
	is_int(fds1, fds0, "no file descriptor leaked (%d before, %d after)", fds0, fds1);

	int st = -1;
	ok(kq_run_in_child(&kvm, child_main, NULL, 60, &st) == 0 && st == 0,
	   "a child runs its own VM after the rounds");
	kq_kvm_close(&kvm);
	return done_testing();
}
