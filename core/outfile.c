#include "core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporary files not yet renamed or removed, for kq_outfile_cleanup() in a
 * signal handler: fixed buffers, a slot is claimed before its name is used. */
#define KQ_OUTFILE_SLOTS 16
static char pending[KQ_OUTFILE_SLOTS][4096];
static volatile sig_atomic_t pending_used[KQ_OUTFILE_SLOTS];

static void track(const char *tmp)
{
	if (strlen(tmp) >= sizeof(pending[0]))
		return;
	for (int i = 0; i < KQ_OUTFILE_SLOTS; i++)
		if (!pending_used[i]) {
			strcpy(pending[i], tmp);
			pending_used[i] = 1;
			return;
		}
}

static void untrack(const char *tmp)
{
	for (int i = 0; i < KQ_OUTFILE_SLOTS; i++)
		if (pending_used[i] && strcmp(pending[i], tmp) == 0) {
			pending_used[i] = 0;
			return;
		}
}

void kq_outfile_cleanup(void)
{
	for (int i = 0; i < KQ_OUTFILE_SLOTS; i++)
		if (pending_used[i]) {
			unlink(pending[i]);
			pending_used[i] = 0;
		}
}

static void on_signal(int sig)
{
	kq_outfile_cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

void kq_outfile_on_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction old;
		/* an ignored signal (nohup) stays ignored */
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
	}
}

static int write_fd(int fd, const char *p, size_t left)
{
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENOSPC;
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	return 0;
}

static void fail(char *err, size_t errlen, const char *path, int e)
{
	snprintf(err, errlen, "cannot write %s: %s", path, strerror(e));
}

int kq_outfile_stage(struct kq_outfile *f, const char *path, const void *data, size_t len,
		     char *err, size_t errlen)
{
	struct stat st;
	f->tmp = NULL;
	f->path = strdup(path);
	if (!f->path) {
		fail(err, errlen, path, ENOMEM);
		return -1;
	}
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write_fd(fd, data, len) != 0 || close(fd) != 0) {
			int e = errno;
			if (fd >= 0)
				close(fd);
			fail(err, errlen, path, e);
			free(f->path);
			f->path = NULL;
			return -1;
		}
		return 0;
	}
	if (asprintf(&f->tmp, "%s.tmp%ld", path, (long)getpid()) < 0) {
		f->tmp = NULL;
		fail(err, errlen, path, ENOMEM);
		free(f->path);
		f->path = NULL;
		return -1;
	}
	track(f->tmp);
	int fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	int e = 0;
	if (fd < 0)
		e = errno;
	else if (write_fd(fd, data, len) != 0)
		e = errno;
	if (fd >= 0 && close(fd) != 0 && !e)
		e = errno;
	if (e) {
		fail(err, errlen, path, e);
		kq_outfile_abort(f);
		return -1;
	}
	return 0;
}

int kq_outfile_commit(struct kq_outfile *f, char *err, size_t errlen)
{
	int rc = 0;
	if (f->tmp && rename(f->tmp, f->path) != 0) {
		fail(err, errlen, f->path, errno);
		unlink(f->tmp);
		rc = -1;
	}
	if (f->tmp)
		untrack(f->tmp);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return rc;
}

void kq_outfile_abort(struct kq_outfile *f)
{
	if (f->tmp) {
		unlink(f->tmp);
		untrack(f->tmp);
	}
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
}

int kq_outfile_save(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	struct kq_outfile f;
	if (kq_outfile_stage(&f, path, data, len, err, errlen) != 0)
		return -1;
	return kq_outfile_commit(&f, err, errlen);
}
