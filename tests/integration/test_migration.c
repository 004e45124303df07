/* Live migration end to end on this host over loopback, and every fault:
 * the suite driver (migration-bench/driver.c) runs both ends, so what the
 * suite reports is what is tested here; plus the source killed mid-stream,
 * which only a third process can do. */
#include "core/test.h"
#include "migration-bench/mig.h"
#include "migration-bench/transport.h"
#include "tests/integration/suite_test.h"
#include "tests/tap.h"
#include "vmm/err.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static enum kq_status run_case(const char *name, const char *kv[][2], int n, char *msg, size_t len)
{
	const struct kq_driver *d = kq_driver_find("migration");
	struct kq_test t = {.mem_bytes = 8 << 20};
	snprintf(t.name, sizeof(t.name), "%s", name);
	for (int i = 0; i < n; i++) {
		snprintf(t.params[i].key, sizeof(t.params[i].key), "%s", kv[i][0]);
		snprintf(t.params[i].value, sizeof(t.params[i].value), "%s", kv[i][1]);
	}
	t.nparams = n;
	const char *env = getenv("KVMQUAL_ENV");
	struct kq_run_opts o = {.environment = env ? env : "native"};
	struct kq_result res;
	kq_result_init(&res, name);
	d->run(d, &t, &o, &res);
	enum kq_status st = kq_result_status(&res);
	json_t *m = json_object_get(res.obj, "message");
	if (!m)
		m = json_object_get(res.obj, "reason");
	snprintf(msg, len, "%s", json_string_value(m) ? json_string_value(m) : "");
	kq_result_free(&res);
	return st;
}

/* The source killed after the SETUP: the destination must discard and say so. */
static void source_killed(void)
{
	char err[512];
	kq_mig_loopback_up(err, sizeof(err));
	int port, lfd = kq_mig_listen("127.0.0.1:0", &port, err, sizeof(err));
	int p[2];
	if (pipe(p) < 0)
		return;
	pid_t dst = fork();
	if (dst == 0) {
		dup2(p[1], 2);
		struct kq_mig_listen_opts o = {.listen_fd = lfd, .timeout_s = 30};
		char e[1024];
		if (kq_mig_receive(&o, e, sizeof(e)) < 0) {
			fprintf(stderr, "discarded: %s", e);
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	close(lfd);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	pid_t src = fork();
	if (src == 0) {
		struct kq_mig_send_opts o = {.to = addr,
					     .wl = {.mode = 2, .vcpus = 2, .test_mem = 8 << 20},
					     .dirty = KQ_DIRTY_BITMAP_MANUAL,
					     .downtime_ms = 0.001,
					     .max_iters = KQ_MIG_MAX_ITERS,
					     .max_time_s = 60,
					     .warmup_s = 0.05,
					     .min_iter_s = 0.05};
		struct kq_mig_send_result *r = calloc(1, sizeof(*r));
		kq_mig_send(&o, r);
		_exit(0);
	}
	usleep(600000);
	kill(src, SIGKILL);
	int st;
	waitpid(src, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "source killed mid-stream");
	waitpid(dst, &st, 0);
	char msg[2048] = "";
	ssize_t r = read(p[0], msg, sizeof(msg) - 1);
	msg[r > 0 ? r : 0] = '\0';
	close(p[0]);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "destination exits 1 after the source died");
	has_substr(msg, "discarded: ", "destination says it discarded the VM (%s)", msg);
}

int main(void)
{
	suite_test_need_kvm();
	char msg[2048];
	const char *verify[][2] = {{"guest", "verify"}, {"rate", "2000"}};
	is_int(run_case("verify", verify, 2, msg, sizeof(msg)), KQ_PASS, "verifier migrates: %s",
	       msg);
	const char *ring[][2] = {{"guest", "verify"}, {"rate", "2000"}, {"dirty", "ring"}};
	is_int(run_case("ring", ring, 3, msg, sizeof(msg)), KQ_PASS, "dirty ring: %s", msg);
	const char *zstd[][2] = {{"guest", "dirty"}, {"rate", "2000"}, {"zstd", "yes"}};
	is_int(run_case("zstd", zstd, 3, msg, sizeof(msg)), KQ_PASS, "zstd: %s", msg);
	/* Planted: a dirty page left out of the final pass and no memory hash to
	 * catch it: the guest runs on with a stale page and the verifier must
	 * say so (the test's FAIL is the expected outcome). */
	const char *planted[][2] = {{"fault", "drop-page-unchecked"}};
	is_int(run_case("planted", planted, 1, msg, sizeof(msg)), KQ_FAIL,
	       "a dropped page fails the verifier: %s", msg);
	has_substr(msg, "the verifier found", "the verifier names the lost write");
	static const char *const faults[] = {"truncate",      "corrupt-page", "corrupt-state",
					     "wrong-version", "dest-oom",     "kill-dest",
					     "drop-page"};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		const char *f[][2] = {{"fault", faults[i]}};
		is_int(run_case(faults[i], f, 1, msg, sizeof(msg)), KQ_PASS, "fault %s: %s",
		       faults[i], msg);
	}
	source_killed();
	return done_testing();
}
