/* reserve_hugepages = yes: raise a hugepage pool for one test and put the
 * old count back afterwards. A guardian process (its own session, so the
 * runner's kill of the test's process group spares it) waits on a pipe and
 * restores the count when the test process goes away for any reason. */
#include "workloads/memory_host.h"
#include "vmm/err.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int pool_path(char *out, size_t n, unsigned long kb, const char *file)
{
	return snprintf(out, n, "/sys/kernel/mm/hugepages/hugepages-%lukB/%s", kb, file);
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int rc = fprintf(f, "%ld\n", v) < 0 ? -1 : 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

long kq_hugepages_free(unsigned long kb)
{
	char p[128];
	pool_path(p, sizeof(p), kb, "free_hugepages");
	return read_long(p);
}

static void guardian(int rd, const char *path, long previous)
{
	/* Leave the test's process group and every descriptor but the pipe, so
	 * the runner neither kills us with the test nor waits on our copies of
	 * its pipes. */
	setsid();
	for (int fd = 0; fd < 1024; fd++)
		if (fd != rd)
			close(fd);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	char c;
	while (read(rd, &c, 1) > 0 || errno == EINTR)
		;
	write_long(path, previous);
	_exit(0);
}

int kq_hugepages_reserve(struct kq_hugepages *h, unsigned long kb, long pages, char *err,
			 size_t errlen)
{
	char nr[128];
	h->kb = kb;
	h->previous = -1;
	h->guard_fd = h->guard_pid = -1;
	pool_path(nr, sizeof(nr), kb, "nr_hugepages");
	long total = read_long(nr), free_now = kq_hugepages_free(kb);
	if (total < 0 || free_now < 0) {
		snprintf(err, errlen, "no %lu kB hugepage pool (%s unreadable)", kb, nr);
		return -1;
	}
	if (free_now >= pages)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "reserve_hugepages needs root to write %s", nr);
		return -1;
	}
	int fds[2];
	if (pipe(fds) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		guardian(fds[0], nr, total);
	}
	close(fds[0]);
	h->guard_fd = fds[1];
	h->guard_pid = pid;
	h->previous = total;
	long want = total + (pages - free_now);
	if (write_long(nr, want) < 0) {
		snprintf(err, errlen, "write %ld to %s: %s", want, nr, strerror(errno));
		kq_hugepages_restore(h);
		return -1;
	}
	if (kq_hugepages_free(kb) < pages) {
		snprintf(err, errlen,
			 "asked for %ld %lu kB hugepages, the kernel found %ld free (fragmented "
			 "memory?)",
			 pages, kb, kq_hugepages_free(kb));
		kq_hugepages_restore(h);
		return -1;
	}
	return 0;
}

void kq_hugepages_restore(struct kq_hugepages *h)
{
	if (h->guard_fd < 0)
		return;
	/* Closing the pipe wakes the guardian, which writes the old count back. */
	close(h->guard_fd);
	h->guard_fd = -1;
	if (h->guard_pid > 0) {
		while (waitpid(h->guard_pid, NULL, 0) < 0 && errno == EINTR)
			;
		h->guard_pid = -1;
	}
	h->previous = -1;
}
