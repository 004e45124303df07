/* Output files are written whole or not at all (core/outfile.c): a full
 * device fails with the file and errno named, a staged file that is aborted
 * or interrupted by a signal leaves nothing behind, devices stay devices. */
#include "core/outfile.h"
#include "tests/tap.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	if (d)
		closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	return buf;
}

int main(void)
{
	char dir[] = "/tmp/kq-outfile-XXXXXX", path[128], err[256];
	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/out.txt", dir);

	ok(kq_outfile_save(path, "hello\n", 6, err, sizeof(err)) == 0, "saves a file");
	is_str(slurp(path), "hello\n", "with its bytes");
	is_int(entries(dir), 1, "and no temporary file beside it");

	ok(kq_outfile_save("/dev/full", "x", 1, err, sizeof(err)) != 0, "/dev/full fails");
	has_substr(err, "/dev/full", "naming the file");
	has_substr(err, "No space left on device", "and errno");
	struct stat st;
	ok(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full is still a device");
	ok(kq_outfile_save("/dev/null", "x", 1, err, sizeof(err)) == 0, "/dev/null takes it");
	ok(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode),
	   "written in place: /dev/null is still a device");

	struct kq_outfile f;
	ok(kq_outfile_stage(&f, path, "new\n", 4, err, sizeof(err)) == 0, "stages a new version");
	is_str(slurp(path), "hello\n", "the old file is untouched while staged");
	kq_outfile_abort(&f);
	is_str(slurp(path), "hello\n", "and after an abort");
	is_int(entries(dir), 1, "the aborted temporary file is gone");
	ok(kq_outfile_stage(&f, path, "new\n", 4, err, sizeof(err)) == 0 &&
	       kq_outfile_commit(&f, err, sizeof(err)) == 0,
	   "stage and commit");
	is_str(slurp(path), "new\n", "replaces the file whole");

	/* A signal while a file is staged: the program stops as the signal
	 * says, and the temporary file does not stay behind. */
	snprintf(path, sizeof(path), "%s/sig.txt", dir);
	pid_t pid = fork();
	if (pid == 0) {
		kq_outfile_on_signals();
		struct kq_outfile g;
		if (kq_outfile_stage(&g, path, "partial", 7, err, sizeof(err)) != 0)
			_exit(3);
		raise(SIGTERM);
		_exit(4);
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	ok(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGTERM, "SIGTERM still stops the program");
	is_int(entries(dir), 1, "leaving neither the file nor its temporary");

	snprintf(path, sizeof(path), "%s/nodir/x", dir);
	ok(kq_outfile_save(path, "x", 1, err, sizeof(err)) != 0, "a missing folder fails");
	has_substr(err, "nodir/x: No such file or directory", "naming the file and errno");

	snprintf(path, sizeof(path), "%s/out.txt", dir);
	unlink(path);
	rmdir(dir);
	return done_testing();
}
