/* Root-relative reading, the sysfs text parsers and the unknown marker,
 * fed the recorded trees under tests/fixtures/probes. */
#include "probes/fs.h"
#include "tests/tap.h"
#include "tests/unit/test_probe_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void parsers(void)
{
	long long v = 0;
	char why[128];
	bool b;
	char sel[32];
	is_int(kq_parse_i64("42\n", &v, why, sizeof(why)), 0, "integer with newline");
	is_int(v, 42, "value 42");
	is_int(kq_parse_i64("  -1", &v, why, sizeof(why)), 0, "negative integer");
	is_int(v, -1, "value -1");
	is_int(kq_parse_i64("12abc", &v, why, sizeof(why)), -1, "trailing garbage rejected");
	is_str(why, "not an integer: '12abc'", "reason shows the text");
	is_int(kq_parse_i64("", &v, why, sizeof(why)), -1, "empty rejected");
	is_str(why, "empty", "reason: empty");
	is_int(kq_parse_i64("99999999999999999999", &v, why, sizeof(why)), -1, "overflow rejected");
	is_int(kq_parse_i64("\x01\xff", &v, why, sizeof(why)), -1, "binary rejected");
	is_str(why, "not an integer: '\\x01\\xff'", "binary shown escaped");

	is_int(kq_parse_bool("Y", &b, why, sizeof(why)), 0, "Y");
	ok(b, "Y is true");
	is_int(kq_parse_bool("0\n", &b, why, sizeof(why)), 0, "0");
	ok(!b, "0 is false");
	is_int(kq_parse_bool("off", &b, NULL, 0), 0, "off");
	ok(!b, "off is false");
	is_int(kq_parse_bool("maybe", &b, why, sizeof(why)), -1, "maybe rejected");
	is_str(why, "not a boolean: 'maybe'", "reason shows the text");
	is_int(kq_parse_bool("Y N", &b, why, sizeof(why)), -1, "two words rejected");
	is_int(kq_parse_bool("", &b, why, sizeof(why)), -1, "empty bool rejected");

	is_int(kq_parse_choice("always [madvise] never", sel, sizeof(sel), why, sizeof(why)), 0,
	       "choice parsed");
	is_str(sel, "madvise", "selected madvise");
	is_int(kq_parse_choice("[always] madvise never", sel, sizeof(sel), NULL, 0), 0,
	       "first word selected");
	is_str(sel, "always", "selected always");
	is_int(kq_parse_choice("always madvise never", sel, sizeof(sel), why, sizeof(why)), -1,
	       "no brackets rejected");
	is_str(why, "no [selected] choice in 'always madvise never'", "reason names the text");
	is_int(kq_parse_choice("a [] b", sel, sizeof(sel), why, sizeof(why)), -1, "[] rejected");
	is_int(kq_parse_choice("a [b [c] d", sel, sizeof(sel), why, sizeof(why)), -1,
	       "nested [ rejected");
	is_int(kq_parse_choice("", sel, sizeof(sel), why, sizeof(why)), -1, "empty choice");
	is_str(why, "empty", "reason: empty");

	char s[] = "ok\x01\xff\xc3\xa9\tz\x7f";
	kq_text_sanitize(s);
	is_str(s, "ok??\xc3\xa9\tz?", "invalid UTF-8 and control bytes replaced, UTF-8 kept");
}

static void reading(void)
{
	const char *broken = fixture("broken"), *intel = fixture("intel-kvm-host");
	char buf[256], why[256], path[PATH_MAX];

	ok(kq_fs_is_live("") && kq_fs_is_live("/") && kq_fs_is_live(NULL), "live roots");
	ok(!kq_fs_is_live("/tmp"), "a folder is a recorded tree");
	is_str(kq_fs_path("", "/proc/cmdline", path, sizeof(path)), "/proc/cmdline", "live path");
	is_str(kq_fs_path("/r", "/proc/cmdline", path, sizeof(path)), "/r/proc/cmdline",
	       "prefixed path");
	is_str(kq_fs_path("/r", "proc", path, sizeof(path)), "/r/proc", "relative path joined");

	is_int(kq_fs_read(intel, "/proc/sys/kernel/osrelease", buf, sizeof(buf), why, sizeof(why)),
	       14, "osrelease read, newline trimmed");
	is_str(buf, "6.1.0-18-amd64", "osrelease text");
	is_int(kq_fs_read(intel, "/proc/sys/kernel/osrelease", buf, 4, why, sizeof(why)), 3,
	       "content cut to the buffer");
	is_str(buf, "6.1", "cut text");

	is_int(kq_fs_read(broken, "/proc/sys/kernel/osrelease", buf, sizeof(buf), why, sizeof(why)),
	       0, "empty file reads as empty");
	is_int(kq_fs_read(broken, "/proc/cmdline", buf, sizeof(buf), why, sizeof(why)), -1,
	       "folder instead of file");
	is_str(why, "/proc/cmdline: is a directory", "reason: is a directory");
	is_int(kq_fs_read(broken, "/proc/version", buf, sizeof(buf), why, sizeof(why)), -1,
	       "dangling link");
	is_str(why, "/proc/version: No such file or directory", "reason: ENOENT");
	is_int(kq_fs_read(broken, "/sys/devices/system/cpu/vulnerabilities/retbleed", buf,
			  sizeof(buf), why, sizeof(why)),
	       -1, "NUL byte refused");
	has_substr(why, "binary content", "reason: binary");
	is_int(kq_fs_read("/nonexistent-root", "/proc/cpuinfo", buf, sizeof(buf), why, sizeof(why)),
	       -1, "missing root");

	json_t *j = kq_fs_json_int(broken, "/proc/sys/kernel/tainted");
	is_str(kq_unknown_reason(j), "/proc/sys/kernel/tainted: not an integer: '12abc'",
	       "int unknown with reason");
	ok(json_is_null(json_object_get(j, "value")), "unknown marker has value null");
	json_decref(j);
	j = kq_fs_json_str(broken, "/proc/sys/kernel/osrelease");
	is_str(kq_unknown_reason(j), "/proc/sys/kernel/osrelease: empty",
	       "empty string is unknown");
	json_decref(j);
	j = kq_fs_json_text(broken, "/proc/sys/kernel/osrelease");
	ok(json_is_string(j) && !strcmp(json_string_value(j), ""), "json_text keeps \"\"");
	json_decref(j);
	j = kq_fs_json_bool(broken, "/sys/devices/system/cpu/smt/active");
	is_str(kq_unknown_reason(j), "/sys/devices/system/cpu/smt/active: not a boolean: 'maybe'",
	       "bool unknown");
	json_decref(j);
	j = kq_fs_json_choice(intel, "/sys/kernel/mm/transparent_hugepage/defrag");
	is_str(json_string_value(json_object_get(j, "selected")), "madvise", "choice selected");
	is_int(json_array_size(json_object_get(j, "options")), 5, "five defrag options");
	is_str(json_string_value(json_array_get(json_object_get(j, "options"), 2)), "defer+madvise",
	       "options without brackets");
	json_decref(j);
	j = kq_fs_json_int(intel, "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	ok(json_is_integer(j) && json_integer_value(j) == 1024, "nr_hugepages 1024");
	ok(kq_unknown_reason(j) == NULL, "a known value has no reason");
	json_decref(j);
	is_str(kq_unknown_reason(NULL), "absent", "absent value");

	char **names;
	int n =
	    kq_fs_list(broken, "/sys/devices/system/cpu/vulnerabilities", &names, why, sizeof(why));
	is_int(n, 8, "eight vulnerability entries");
	if (n == 8) {
		is_str(names[0], "itlb_multihit", "sorted: first");
		is_str(names[7], "tsx_async_abort", "sorted: last");
	}
	kq_fs_free_list(names, n);
	n = kq_fs_list(broken, "/proc/cmdline", &names, why, sizeof(why));
	is_int(n, 0, ".keep hidden: folder is empty");
	kq_fs_free_list(names, n);
	n = kq_fs_list(broken, "/no/such", &names, why, sizeof(why));
	is_int(n, -1, "missing folder");
	is_str(why, "/no/such: No such file or directory", "reason names the folder");
}

static void special_files(void)
{
	char dir[] = "/tmp/kq-probe-fs-XXXXXX";
	ok(mkdtemp(dir) != NULL, "temp folder");
	char p[PATH_MAX], buf[64], why[256];
	snprintf(p, sizeof(p), "%s/fifo", dir);
	ok(mkfifo(p, 0600) == 0, "fifo made");
	is_int(kq_fs_read(dir, "/fifo", buf, sizeof(buf), why, sizeof(why)), -1,
	       "a FIFO is refused without blocking");
	is_str(why, "/fifo: not a regular file", "reason: not a regular file");
	unlink(p);

	/* an unreadable file: root reads anything, so drop to nobody in a child */
	snprintf(p, sizeof(p), "%s/secret", dir);
	int fd = open(p, O_CREAT | O_WRONLY, 0600);
	ok(fd >= 0 && write(fd, "1\n", 2) == 2, "secret written");
	close(fd);
	chmod(dir, 0755);
	int pfd[2];
	ok(pipe(pfd) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(3);
		json_t *j = kq_fs_json_int(dir, "/secret");
		const char *r = kq_unknown_reason(j);
		if (write(pfd[1], r ? r : "known", strlen(r ? r : "known")) < 0)
			_exit(4);
		_exit(0);
	}
	close(pfd[1]);
	char got[256] = "";
	ssize_t r = read(pfd[0], got, sizeof(got) - 1);
	got[r > 0 ? r : 0] = '\0';
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	is_str(got, "/secret: Permission denied", "unreadable file gives EACCES as the reason");
	unlink(p);

	/* recording copies what was read from the live host */
	kq_fs_record_to(dir);
	char live[256];
	ssize_t n =
	    kq_fs_read("", "/proc/sys/kernel/osrelease", live, sizeof(live), why, sizeof(why));
	kq_fs_record_to(NULL);
	ok(n > 0, "live osrelease read");
	is_int(kq_fs_read(dir, "/proc/sys/kernel/osrelease", buf, sizeof(buf), why, sizeof(why)), n,
	       "recorded copy has the same length");
	is_str(buf, live, "recorded copy has the same text");
	is_int(kq_fs_record_file("/x", "y", 1), 0, "recording off: no-op");
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "temp folder removed");
}

int main(void)
{
	parsers();
	reading();
	special_files();
	return done_testing();
}
