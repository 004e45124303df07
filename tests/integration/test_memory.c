/* Integration: every test of group memory runs briefly (--quick, small sets)
 * through the runner's isolation and produces, per working set and kernel,
 * guest and native samples and their ratio, each labelled with the host's
 * paging mode, or SKIPs saying why. Then the planted direction check: a 1 GiB
 * random-page walk with 4K guest pages on THP-off memory must be slower per
 * access than with 2M guest pages on THP (or hugetlbfs 2M) on any host with
 * hardware paging (EPT/NPT); on shadow-paging hosts it SKIPs, saying so. */
#include "tests/integration/suite_test.h"
#include "tests/tap.h"
#include "core/test.h"
#include "probes/probe.h"
#include "runner/conf.h"
#include "runner/execute.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <stdlib.h>
#include <unistd.h>

static json_t *metric(json_t *res, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(res, "metrics"), i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
			return m;
	}
	return NULL;
}

static double median(json_t *m)
{
	return json_number_value(json_object_get(json_object_get(m, "stats"), "median"));
}

static void check_matrix(const struct kq_test *t, json_t *res, const char *mode)
{
	json_t *sets = json_object_get(json_object_get(res, "evidence"), "working_sets");
	static const char *const kernels[] = {"chase", "read", "write", "randpage"};
	size_t i, missing = 0, unlabelled = 0, bad_ratio = 0;
	json_t *ws;
	ok(json_array_size(sets) >= 3, "%s: %zu working sets", t->name, json_array_size(sets));
	json_array_foreach(sets, i, ws)
	{
		for (int k = 0; k < 4; k++) {
			char g[64], n[64], r[64];
			long long kib = (long long)json_integer_value(ws) >> 10;
			snprintf(g, sizeof(g), "%s.guest.%lldK", kernels[k], kib);
			snprintf(n, sizeof(n), "%s.native.%lldK", kernels[k], kib);
			snprintf(r, sizeof(r), "ratio.%s.%lldK", kernels[k], kib);
			json_t *gm = metric(res, g), *nm = metric(res, n), *rm = metric(res, r);
			if (!gm || !nm || !rm ||
			    json_array_size(json_object_get(gm, "samples")) < 8) {
				missing++;
				continue;
			}
			const char *p = json_string_value(
			    json_object_get(json_object_get(gm, "labels"), "paging"));
			unlabelled += !p || strcmp(p, mode) != 0;
			double want = median(gm) / median(nm),
			       got = json_number_value(json_object_get(rm, "value"));
			bad_ratio += !(median(gm) > 0 && median(nm) > 0) || got < want * 0.999 ||
				     got > want * 1.001;
		}
	}
	ok(!missing,
	   "%s: guest, native (8+ batches) and ratio for every set and kernel (%zu "
	   "missing)",
	   t->name, missing);
	ok(!unlabelled, "%s: every guest metric carries paging = %s", t->name, mode);
	ok(!bad_ratio, "%s: each ratio is the guest median over the native median", t->name);
}

/* The median ns per access of the randpage walk over 1 GiB for one cell. */
static double walk_1g(const char *page_size, const char *backing, const struct kq_run_opts *o,
		      char *why, size_t len)
{
	char path[] = "/tmp/kq-memdir-XXXXXX", text[512];
	int fd = mkstemp(path);
	snprintf(text, sizeof(text),
		 "[walk]\nworkload = memory.matrix\npage_size = %s\nbacking = %s\nmemory = 1G\n"
		 "min_set = 1G\nmax_set = 1G\nquick_max_set = 1G\nkernels = randpage\n"
		 "native = no\nquick_time_goal = 300ms\ntime_limit = 120\n",
		 page_size, backing);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		snprintf(why, len, "cannot write %s", path);
		return -1;
	}
	close(fd);
	struct kq_suite s;
	int rc = kq_suite_load(&s, path);
	unlink(path);
	if (rc < 0) {
		snprintf(why, len, "%.400s", s.errors);
		return -1;
	}
	json_t *res = kq_execute_test(&s.tests[0], o);
	const char *st = json_string_value(json_object_get(res, "status"));
	double v = -1;
	if (strcmp(st, "pass") == 0 && metric(res, "randpage.guest.1048576K"))
		v = median(metric(res, "randpage.guest.1048576K"));
	else
		snprintf(why, len, "%s %s: %s: %s", page_size, backing, st,
			 json_string_value(json_object_get(res, "reason")));
	json_decref(res);
	kq_suite_free(&s);
	return v;
}

static void direction_check(const char *mode, const struct kq_run_opts *o)
{
	char why[512] = "";
	if (strcmp(mode, "ept") != 0 && strcmp(mode, "npt") != 0) {
		printf(
		    "ok %d - # SKIP direction check: the host uses %s paging (not EPT/NPT), where "
		    "guest page size does not set the walk cost\n",
		    ++tap_n, mode);
		return;
	}
	if (getenv("KVMQUAL_ENV") && strcmp(getenv("KVMQUAL_ENV"), "emulated") == 0) {
		printf("ok %d - # SKIP direction check: emulated host (no room for 1 GiB, timings "
		       "not representative)\n",
		       ++tap_n);
		return;
	}
	double small = walk_1g("4K", "anon", o, why, sizeof(why));
	double big = walk_1g("2M", "hugetlb-2m", o, why, sizeof(why));
	if (big < 0)
		big = walk_1g("2M", "thp", o, why, sizeof(why));
	if (small < 0 || big < 0) {
		printf("ok %d - # SKIP direction check: %s\n", ++tap_n, why);
		return;
	}
	ok(small > big * 1.05,
	   "1 GiB random pages: 4K guest pages on THP-off memory (%.1f ns) are slower than 2M "
	   "guest pages on 2M host pages (%.1f ns)",
	   small, big);
}

int main(void)
{
	suite_test_need_kvm();
	struct kq_suite s;
	if (!suite_test_load(&s))
		return done_testing();
	json_t *paging = kq_probe_paging("");
	const char *mode = json_string_value(json_object_get(paging, "mode"));
	printf("# paging mode: %s (%s)\n", mode,
	       json_string_value(json_object_get(paging, "reason")));
	const char *env = kq_probe_environment();
	struct kq_run_opts o = {.quick = true, .repeat = 1, .out_dir = "/tmp", .environment = env};
	int ran = 0, passed = 0;
	for (int i = 0; i < s.ntests; i++) {
		struct kq_test t = s.tests[i];
		/* The cost workloads have their own checks (test_memory_costs). */
		if (!kq_test_in_group(&t, "memory") || !strcmp(t.workload, "memory.dirty-log") ||
		    !strcmp(t.workload, "memory.slots") || !strcmp(t.workload, "memory.vm-create"))
			continue;
		/* Small and brief: sets up to 256K, 2 ms per measurement. */
		snprintf(t.params[t.nparams].key, sizeof(t.params[0].key), "quick_max_set");
		snprintf(t.params[t.nparams].value, sizeof(t.params[0].value), "256K");
		t.params[t.nparams++].line = 1;
		t.quick_time_goal_ms = 2;
		json_t *res = kq_execute_test(&t, &o);
		const char *st = json_string_value(json_object_get(res, "status"));
		const char *why = json_string_value(json_object_get(res, "reason"));
		ran++;
		if (strcmp(st, "skip") == 0) {
			printf("ok %d - %s # SKIP %s\n", ++tap_n, t.name, why);
			ok(why && strlen(why) > 10, "%s: the SKIP says why", t.name);
		} else if (ok(strcmp(st, "pass") == 0, "%s passes (%s)", t.name, why ? why : "")) {
			passed++;
			if (strcmp(t.workload, "memory.matrix") == 0)
				check_matrix(&t, res, mode);
			else
				ok(json_array_size(json_object_get(res, "metrics")) >= 2,
				   "%s: first-touch metrics", t.name);
		}
		json_decref(res);
	}
	ok(ran >= 15, "ran the %d memory tests suite.conf declares", ran);
	ok(passed >= 1, "%d memory tests passed (anon is always available)", passed);
	direction_check(mode, &o);
	json_decref(paging);
	return done_testing();
}
