/* Shaped network namespaces for the migration sweep (see netns.h). */
#include "migration-bench/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static struct kq_netns *active; /* what the signal handler removes */

/* Runs argv (no shell); stderr into err. 0 when it exited 0. */
static int run(char *err, size_t n, const char *const argv[])
{
	int p[2];
	if (pipe(p) < 0) {
		snprintf(err, n, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, n, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 2);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 1);
		close(p[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	char buf[512];
	ssize_t r = read(p[0], buf, sizeof(buf) - 1);
	buf[r > 0 ? r : 0] = '\0';
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	char *nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	size_t at = 0;
	for (int i = 0; argv[i] && at < n; i++)
		at += (size_t)snprintf(err + at, n - at, "%s%s", i ? " " : "", argv[i]);
	if (at < n)
		snprintf(err + at, n - at, ": %s",
			 WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "not found" : buf);
	return -1;
}

/* ip/tc with a printf-built argument list split at spaces. */
static int cmd(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cmd(char *err, size_t n, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	const char *argv[48];
	int c = 0;
	for (char *tok = strtok(line, " "); tok && c < 47; tok = strtok(NULL, " "))
		argv[c++] = tok;
	argv[c] = NULL;
	return run(err, n, argv);
}

int kq_netns_available(char *why, size_t n)
{
	if (geteuid() != 0) {
		snprintf(why, n, "network namespaces need root (euid %d)", (int)geteuid());
		return -1;
	}
	if (cmd(why, n, "ip -V") < 0 || cmd(why, n, "tc -V") < 0) {
		char e[256];
		snprintf(e, sizeof(e), "iproute2 is missing (%s)", why);
		snprintf(why, n, "%s", e);
		return -1;
	}
	return 0;
}

void kq_netns_sweep(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	char err[256];
	while (d && (e = readdir(d))) {
		size_t pl = strlen(KQ_NETNS_PREFIX);
		if (strncmp(e->d_name, KQ_NETNS_PREFIX, pl))
			continue;
		long pid = strtol(e->d_name + pl, NULL, 10);
		if (pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM))
			continue; /* its sweep still runs */
		cmd(err, sizeof(err), "ip netns del %s", e->d_name);
	}
	if (d)
		closedir(d);
}

void kq_netns_destroy(struct kq_netns *ns)
{
	char err[256];
	if (!ns->made)
		return;
	/* Deleting a namespace deletes the veth end in it, and so the pair. */
	cmd(err, sizeof(err), "ip netns del %s", ns->src);
	cmd(err, sizeof(err), "ip netns del %s", ns->dst);
	ns->made = false;
	if (active == ns)
		active = NULL;
}

/* Only fork, exec and waitpid here: what a signal handler may call. */
static void del_now(const char *name)
{
	pid_t p = fork();
	if (p == 0) {
		execlp("ip", "ip", "netns", "del", name, (char *)NULL);
		_exit(127);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

static void on_signal(int sig)
{
	if (active && active->made) {
		del_now(active->src);
		del_now(active->dst);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

int kq_netns_create(struct kq_netns *ns, char *err, size_t n)
{
	int pid = (int)getpid();
	memset(ns, 0, sizeof(*ns));
	snprintf(ns->src, sizeof(ns->src), KQ_NETNS_PREFIX "%d-s", pid);
	snprintf(ns->dst, sizeof(ns->dst), KQ_NETNS_PREFIX "%d-d", pid);
	snprintf(ns->ifs, sizeof(ns->ifs), "kqm%ds", pid % 1000000);
	snprintf(ns->ifd, sizeof(ns->ifd), "kqm%dd", pid % 1000000);
	kq_netns_sweep();
	active = ns;
	ns->made = true;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	if (cmd(err, n, "ip netns add %s", ns->src) < 0 ||
	    cmd(err, n, "ip netns add %s", ns->dst) < 0 ||
	    cmd(err, n, "ip link add %s netns %s type veth peer name %s netns %s", ns->ifs, ns->src,
		ns->ifd, ns->dst) < 0 ||
	    cmd(err, n, "ip -n %s addr add " KQ_NETNS_SRC_ADDR "/30 dev %s", ns->src, ns->ifs) <
		0 ||
	    cmd(err, n, "ip -n %s addr add " KQ_NETNS_DST_ADDR "/30 dev %s", ns->dst, ns->ifd) <
		0 ||
	    cmd(err, n, "ip -n %s link set %s up", ns->src, ns->ifs) < 0 ||
	    cmd(err, n, "ip -n %s link set %s up", ns->dst, ns->ifd) < 0 ||
	    cmd(err, n, "ip -n %s link set lo up", ns->src) < 0 ||
	    cmd(err, n, "ip -n %s link set lo up", ns->dst) < 0) {
		kq_netns_destroy(ns);
		return -1;
	}
	return 0;
}

int kq_netns_shape(struct kq_netns *ns, double mbit, double delay_ms, char *err, size_t n)
{
	const char *names[2][2] = {{ns->src, ns->ifs}, {ns->dst, ns->ifd}};
	/* burst: at least one jiffy's worth at the rate, and 64 KiB */
	double burst = mbit * 1e6 / 8 / 100;
	if (burst < 65536)
		burst = 65536;
	for (int i = 0; i < 2; i++) {
		/* netem for the delay at the root, tbf for the rate under it; no
		 * netem when no delay is asked for (kernels without sch_netem). */
		if (delay_ms > 0 &&
		    cmd(err, n, "tc -n %s qdisc replace dev %s root handle 1: netem delay %.3fms",
			names[i][0], names[i][1], delay_ms) < 0) {
			if (strstr(err, "qdisc kind is unknown")) {
				size_t l = strlen(err);
				snprintf(err + l, n - l,
					 " (this kernel has no sch_netem: a delay of 0 "
					 "shapes the rate alone)");
			}
			return -1;
		}
		if (cmd(err, n,
			"tc -n %s qdisc replace dev %s %s tbf rate %.0fkbit burst %.0f latency "
			"100ms",
			names[i][0], names[i][1],
			delay_ms > 0 ? "parent 1: handle 2:" : "root handle 2:", mbit * 1000,
			burst) < 0)
			return -1;
	}
	return 0;
}

int kq_netns_enter(const char *name, char *err, size_t n)
{
	char path[96];
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = setns(fd, CLONE_NEWNET);
	if (rc < 0)
		snprintf(err, n, "setns %s: %s", path, strerror(errno));
	close(fd);
	return rc;
}
