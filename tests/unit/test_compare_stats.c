/* Statistics behind `kvmqual compare`, checked against values computed
 * independently by tests/report/reference-stats.py (plain Python from the
 * definitions; run it to reproduce every constant below):
 *
 *   xoshiro256** seed 1, first outputs: 0xb3f2af6d0fc710c5 0x853b559647364cea
 *                                       0x92f89756082a4514 0x642e1c7bc266a3a7
 *   below(10) x 8, seed 1:              7 5 5 3 6 1 0 3
 *   exact  (EXACT_A, EXACT_B):  U = 3,  p = 0.1111111111111111
 *          by hand: C(9,4) = 126 splits; U in {0,1,2,3} has 1+1+2+3 = 7 of
 *          them, two-sided p = 2 * 7/126 = 1/9
 *   exact  (EXACT_B, EXACT_A):  U = 17, p = 0.1111111111111111
 *   normal (TIES_A, TIES_B):    U = 72.5, z = 3.4839055217550312,
 *                               p = 0.0004941538911755781
 *   bootstrap CI of median(B) - median(A), 2000 resamples, 95 %:
 *          seed 1: [7.5, 12.5]; seed 7: [7.75, 12.5]
 *
 *   Benjamini-Hochberg of p = {0.01, 0.04, 0.03, 0.005}: ranks 2 4 3 1,
 *          p n / rank = 0.02 0.04 0.04 0.02, minimum from the largest rank
 *          down: q = {0.02, 0.04, 0.04, 0.02}
 *
 * Then the verdict rules, and compare on synthetic pairs of runs: one with a
 * planted regression (flagged, gated), one with noise alone (not flagged);
 * thousands of metrics of noise alone (false alarms within the rate) and
 * with planted shifts (found); the gates that gate nothing. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/compare.h"
#include "reports/inference.h"
#include "reports/results_load.h"
#include "reports/runset.h"
#include "tests/tap.h"

static const double EXACT_A[] = {1.1, 2.3, 3.0, 4.8};
static const double EXACT_B[] = {2.0, 5.1, 6.2, 7.7, 8.0};
static const double TIES_A[] = {10, 11, 11, 12, 12, 12, 13, 13, 14, 15,
				10, 11, 12, 12, 13, 13, 13, 14, 16, 12};
static const double TIES_B[] = {12, 13, 13, 14, 14, 15, 15, 15, 16, 17,
				13, 14, 14, 15, 16, 16, 12, 13, 18, 14};
static const double BOOT_A[] = {100.0, 102.0, 98.0, 101.0, 99.0, 103.0, 97.0, 100.5};
static const double BOOT_B[] = {110.0, 108.0, 112.0, 109.0, 111.0, 107.5, 113.0, 110.5, 109.5};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_rng(void)
{
	struct kq_rng r;
	static const uint64_t want[] = {0xb3f2af6d0fc710c5ULL, 0x853b559647364ceaULL,
					0x92f89756082a4514ULL, 0x642e1c7bc266a3a7ULL};
	kq_rng_seed(&r, 1);
	for (size_t i = 0; i < N(want); i++)
		ok(kq_rng_next(&r) == want[i], "xoshiro256** seed 1 output %zu", i);
	static const size_t below[] = {7, 5, 5, 3, 6, 1, 0, 3};
	kq_rng_seed(&r, 1);
	bool all = true;
	for (size_t i = 0; i < N(below); i++)
		all &= kq_rng_below(&r, 10) == below[i];
	ok(all, "kq_rng_below(10) sequence for seed 1");
}

static void test_mann_whitney(void)
{
	struct kq_mwu m;
	is_int(kq_mann_whitney(EXACT_A, N(EXACT_A), EXACT_B, N(EXACT_B), &m), 0, "exact: runs");
	ok(m.exact, "no ties and n = 9: the exact distribution is used");
	is_near(m.u1, 3, 0, "exact: U of the first sample");
	is_near(m.u2, 17, 0, "exact: U of the second sample");
	is_near(m.p, 0.1111111111111111, 1e-12, "exact: two-sided p = 1/9");
	kq_mann_whitney(EXACT_B, N(EXACT_B), EXACT_A, N(EXACT_A), &m);
	is_near(m.u1, 17, 0, "exact, samples swapped: U");
	is_near(m.p, 0.1111111111111111, 1e-12, "exact, samples swapped: same p");

	kq_mann_whitney(TIES_A, N(TIES_A), TIES_B, N(TIES_B), &m);
	ok(!m.exact, "ties: the normal approximation is used");
	is_near(m.u1, 72.5, 1e-12, "normal: U with ties counted 1/2");
	is_near(m.z, 3.4839055217550312, 1e-9, "normal: z with tie and continuity corrections");
	is_near(m.p, 0.0004941538911755781, 1e-12, "normal: two-sided p");

	static const double same[] = {5, 5, 5, 5};
	kq_mann_whitney(same, 4, same, 4, &m);
	is_near(m.p, 1, 0, "every value equal: p = 1");
	static const double one_a[] = {1}, one_b[] = {2};
	kq_mann_whitney(one_a, 1, one_b, 1, &m);
	is_near(m.p, 1, 0, "one sample each: p = 1");
	ok(kq_mann_whitney(one_a, 0, one_b, 1, &m) != 0, "an empty sample is refused");

	/* exact p for identical groups of 3 vs 3 separated: 2/C(6,3) = 0.1 */
	static const double lo3[] = {1, 2, 3}, hi3[] = {4, 5, 6};
	kq_mann_whitney(lo3, 3, hi3, 3, &m);
	is_near(m.p, 0.1, 1e-12, "3 vs 3 fully separated: p = 2/20");
}

static void test_bootstrap(void)
{
	double lo, hi, lo2, hi2;
	is_int(
	    kq_bootstrap_median_diff(BOOT_A, N(BOOT_A), BOOT_B, N(BOOT_B), 2000, 0.95, 1, &lo, &hi),
	    0, "bootstrap runs");
	is_near(lo, 7.5, 1e-9, "bootstrap seed 1: lower bound");
	is_near(hi, 12.5, 1e-9, "bootstrap seed 1: upper bound");
	kq_bootstrap_median_diff(BOOT_A, N(BOOT_A), BOOT_B, N(BOOT_B), 2000, 0.95, 1, &lo2, &hi2);
	ok(lo == lo2 && hi == hi2, "bootstrap is reproducible for a seed");
	kq_bootstrap_median_diff(BOOT_A, N(BOOT_A), BOOT_B, N(BOOT_B), 2000, 0.95, 7, &lo, &hi);
	is_near(lo, 7.75, 1e-9, "bootstrap seed 7: lower bound");
	is_near(hi, 12.5, 1e-9, "bootstrap seed 7: upper bound");
	/* shuffled input gives the same interval: resampling works on sorted copies */
	static const double a_shuf[] = {97.0, 103.0, 100.5, 98.0, 101.0, 100.0, 99.0, 102.0};
	kq_bootstrap_median_diff(a_shuf, N(a_shuf), BOOT_B, N(BOOT_B), 2000, 0.95, 1, &lo, &hi);
	ok(lo == 7.5 && hi == 12.5, "the order of the samples does not matter");
	static const double c[] = {4, 4, 4};
	kq_bootstrap_median_diff(c, 3, c, 3, 500, 0.95, 1, &lo, &hi);
	ok(lo == 0 && hi == 0, "constant samples: the interval is [0, 0]");
}

static void test_rules(void)
{
	is_int(kq_cmp_decide(KQ_LOWER_BETTER, 6, true, 5), KQ_V_WORSE,
	       "lower is better, +6%%: worse");
	is_int(kq_cmp_decide(KQ_LOWER_BETTER, -6, true, 5), KQ_V_BETTER,
	       "lower is better, -6%%: better");
	is_int(kq_cmp_decide(KQ_LOWER_BETTER, 4.9, true, 5), KQ_V_SAME,
	       "within the threshold: same");
	is_int(kq_cmp_decide(KQ_LOWER_BETTER, 50, false, 5), KQ_V_SAME, "not significant: same");
	is_int(kq_cmp_decide(KQ_HIGHER_BETTER, -6, true, 5), KQ_V_WORSE, "a rate 6%% lower: worse");
	is_int(kq_cmp_decide(KQ_HIGHER_BETTER, 6, true, 5), KQ_V_BETTER,
	       "a rate 6%% higher: better");
	is_int(kq_cmp_decide(KQ_NO_DIRECTION, 6, true, 5), KQ_V_CHANGED, "no direction: changed");
	is_int(kq_cmp_decide(KQ_LOWER_BETTER, INFINITY, true, 5), KQ_V_WORSE,
	       "from zero up: worse");

	static const struct {
		const char *unit, *better;
		enum kq_better want;
	} units[] = {{"ns", NULL, KQ_LOWER_BETTER},	{"us", NULL, KQ_LOWER_BETTER},
		     {"ms", NULL, KQ_LOWER_BETTER},	{"s", NULL, KQ_LOWER_BETTER},
		     {"cycles", NULL, KQ_LOWER_BETTER}, {"ratio", NULL, KQ_LOWER_BETTER},
		     {"ops/s", NULL, KQ_HIGHER_BETTER}, {"MiB/s", NULL, KQ_HIGHER_BETTER},
		     {"pages", NULL, KQ_NO_DIRECTION},	{"bits", "higher", KQ_HIGHER_BETTER},
		     {"ns", "higher", KQ_HIGHER_BETTER}};
	for (size_t i = 0; i < N(units); i++) {
		json_t *m = json_pack("{s:s,s:s}", "name", "x", "unit", units[i].unit);
		if (units[i].better)
			json_object_set_new(m, "labels",
					    json_pack("{s:s}", "better", units[i].better));
		is_int(kq_metric_direction(m), units[i].want, "direction of unit %s%s%s",
		       units[i].unit, units[i].better ? ", better=" : "",
		       units[i].better ? units[i].better : "");
		json_decref(m);
	}
	ok(kq_cmp_glob_match("cpuid.*", "exit.cpuid", "cpuid.ns"), "glob on the metric name");
	ok(kq_cmp_glob_match("exit.cpuid/*", "exit.cpuid", "cpuid.ns"), "glob on TEST/METRIC");
	ok(!kq_cmp_glob_match("pio.*", "exit.cpuid", "cpuid.ns"), "a glob that does not match");
}

/* ---- synthetic runs ------------------------------------------------------ */

static double gauss(struct kq_rng *r)
{
	double u1 = ((double)(kq_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
	double u2 = ((double)(kq_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static json_t *sampled(const char *name, const char *unit, double base, double cv, double factor,
		       struct kq_rng *r, const char *kind)
{
	double v[30];
	json_t *samples = json_array();
	for (size_t i = 0; i < N(v); i++) {
		v[i] = base * exp(cv * gauss(r)) * factor;
		json_array_append_new(samples, json_real(v[i]));
	}
	struct kq_stats st;
	kq_stats_compute(v, N(v), &st);
	return json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:I,s:f,s:f,s:f,s:f,s:f,s:f},s:o}", "name", name,
			 "unit", unit, "labels", "kind", kind, "handled_in", "kernel", "stats", "n",
			 (json_int_t)st.n, "min", st.min, "max", st.max, "median", st.median,
			 "mean", st.mean, "p99", st.p99, "stddev", st.stddev, "samples", samples);
}

/* A run of 12 exit tests; the factors plant changes in cpuid.ns, in the
 * rate pio.ops, and in the value-only ratio. */
static json_t *run(uint64_t seed, double cpuid_factor, double rate_factor, double ratio_factor)
{
	static const char *kinds[] = {"cpuid",	"pio",	  "mmio", "hlt", "rdmsr", "wrmsr",
				      "vmcall", "xsetbv", "npf",  "ept", "io",	  "msr"};
	struct kq_rng r;
	kq_rng_seed(&r, seed);
	json_t *tests = json_array();
	for (size_t i = 0; i < N(kinds); i++) {
		char tname[64], mname[64];
		snprintf(tname, sizeof(tname), "exit.%s", kinds[i]);
		snprintf(mname, sizeof(mname), "%s.ns", kinds[i]);
		json_t *ms = json_array();
		json_array_append_new(ms, sampled(mname, "ns", 1000.0 * (double)(i + 1), 0.02,
						  i == 0 ? cpuid_factor : 1.0, &r, kinds[i]));
		if (i == 1)
			json_array_append_new(
			    ms, sampled("pio.ops", "ops/s", 2e5, 0.02, rate_factor, &r, kinds[i]));
		json_array_append_new(ms, json_pack("{s:s,s:s,s:f}", "name", "ratio_vs_reference",
						    "unit", "ratio", "value",
						    1.05 * (i == 2 ? ratio_factor : 1.0)));
		json_array_append_new(tests, json_pack("{s:s,s:s,s:o}", "name", tname, "status",
						       "pass", "metrics", ms));
	}
	return json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s},s:s,s:{s:s,s:{s:s},s:{s:s,s:s}},s:o}",
			 "schema_version", "1.0", "tool", "name", "kvmqual", "version", "0.1.0",
			 "run", "id", "synthetic", "started", "2026-11-26T16:00:00Z", "environment",
			 "nested", "host", "hostname", "h", "kernel", "release", "6.1", "cpu",
			 "vendor", "v", "brand", "b", "tests", tests);
}

static void pair(struct kq_runset *rs, json_t *a, json_t *b)
{
	char err[256];
	memset(rs, 0, sizeof(*rs));
	ok(kq_results_check(a, "A", err, sizeof(err)) == 0, "synthetic run A is well formed");
	ok(kq_results_check(b, "B", err, sizeof(err)) == 0, "synthetic run B is well formed");
	kq_runset_add_json(rs, a, "A", err, sizeof(err));
	kq_runset_add_json(rs, b, "B", err, sizeof(err));
}

static const struct kq_cmp_row *find(const struct kq_cmp *c, const char *test, const char *metric)
{
	for (size_t i = 0; i < c->nrows; i++)
		if (!strcmp(c->rows[i].test, test) && !strcmp(c->rows[i].metric, metric))
			return &c->rows[i];
	return NULL;
}

static void test_compare_pairs(void)
{
	struct kq_runset rs;
	struct kq_cmp c;
	struct kq_cmp_opts o;
	char err[256];
	kq_cmp_opts_default(&o);

	/* noise alone: different seeds, nothing planted */
	pair(&rs, run(1, 1, 1, 1), run(2, 1, 1, 1));
	is_int(kq_compare_build(&rs, &o, &c, err, sizeof(err)), 0, "noise: compare builds");
	is_int(c.counts[1].worse, 0, "noise: nothing worse");
	is_int(c.counts[1].better, 0, "noise: nothing better");
	is_int(kq_compare_regressions(&c), 0, "noise: no gated regression (exit 0)");
	is_int(c.nrows, 25, "noise: 12 latencies, 1 rate, 12 ratios");
	is_int(json_array_size(c.host_diff), 0, "same host: no host differences");
	kq_compare_free(&c);
	kq_runset_free(&rs);

	/* planted: cpuid 20% slower, the pio rate 15% lower, one ratio 10% higher */
	pair(&rs, run(1, 1, 1, 1), run(2, 1.20, 0.85, 1.10));
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	const struct kq_cmp_row *row = find(&c, "exit.cpuid", "cpuid.ns");
	ok(row && row->d[1].verdict == KQ_V_WORSE, "planted: cpuid.ns is worse");
	ok(row && row->d[1].gated, "planted: cpuid.ns is gated");
	ok(row && row->d[1].delta_pct > 15 && row->d[1].delta_pct < 25,
	   "planted: cpuid.ns about +20%%");
	ok(kq_compare_all_cis(&c) == 0, "planted: the intervals are computed");
	ok(row && row->d[1].has_ci && row->d[1].ci_lo > 0,
	   "planted: the CI of the difference excludes 0");
	ok(row && row->d[1].mw.p < 1e-6, "planted: Mann-Whitney p is tiny");
	row = find(&c, "exit.pio", "pio.ops");
	ok(row && row->d[1].verdict == KQ_V_WORSE && row->d[1].gated,
	   "planted: the lower rate is worse");
	row = find(&c, "exit.mmio", "ratio_vs_reference");
	ok(row && row->d[1].verdict == KQ_V_WORSE, "planted: the higher ratio is worse");
	ok(row && !row->d[1].gated && !row->d[1].has_test,
	   "planted: a value without samples is judged by the threshold, not gated by default");
	is_int(c.counts[1].worse, 3, "planted: three metrics worse");
	is_int(kq_compare_regressions(&c), 2, "planted: two gated regressions (exit 1)");
	kq_compare_free(&c);

	/* --metric picks what gates, values included */
	const char *globs[] = {"ratio_vs_reference"};
	o.globs = globs;
	o.nglobs = 1;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(kq_compare_regressions(&c), 1, "--metric ratio_vs_reference: only the ratio gates");
	kq_compare_free(&c);
	const char *globs2[] = {"exit.hlt/*"};
	o.globs = globs2;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(kq_compare_regressions(&c), 0, "--metric on an unchanged test: no regression");
	kq_compare_free(&c);
	o.nglobs = 0;

	/* a looser threshold lets the 15-20% changes pass */
	o.threshold_pct = 25;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(kq_compare_regressions(&c), 0, "--threshold 25: no regression");
	kq_compare_free(&c);
	kq_runset_free(&rs);
}

static void test_missing_and_hosts(void)
{
	struct kq_runset rs;
	struct kq_cmp c;
	struct kq_cmp_opts o;
	char err[256];
	kq_cmp_opts_default(&o);
	json_t *a = run(1, 1, 1, 1), *b = run(1, 1, 1, 1);
	json_array_remove(json_object_get(b, "tests"), 11); /* exit.msr gone */
	json_object_set_new(json_object_get(json_object_get(b, "host"), "cpu"), "brand",
			    json_string("other"));
	json_object_set_new(b, "environment", json_string("emulated"));
	pair(&rs, a, b);
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(c.counts[1].missing, 2, "a test missing in B: its two metrics are missing");
	is_int(kq_compare_regressions(&c), 0, "missing metrics do not gate");
	is_int(json_array_size(c.missing_tests[1]), 1, "one test of A missing from B");
	is_str(json_string_value(json_array_get(c.missing_tests[1], 0)), "exit.msr",
	       "the missing test is named");
	is_int(kq_compare_missing_failures(&c), 1, "a missing test fails the comparison");
	char why[256];
	ok(kq_compare_empty(&c, why, sizeof(why)) == NULL, "23 metrics compared: not empty");
	is_int(c.counts[1].same, 23, "identical data: the rest is the same");
	is_int(json_array_size(c.host_diff), 2, "two host fields differ");
	is_str(json_string_value(json_array_get(json_array_get(c.host_diff, 0), 0)), "environment",
	       "the environment difference is listed first");
	is_str(json_string_value(json_array_get(json_array_get(c.host_diff, 1), 0)), "cpu.brand",
	       "then the fingerprint's own fields");
	is_int(json_array_size(c.status_diff), 1, "one test status differs (absent in B)");
	kq_compare_free(&c);
	o.allow_missing = true;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(kq_compare_missing_failures(&c), 0, "allow_missing: the missing test is accepted");
	kq_compare_free(&c);
	kq_runset_free(&rs);
}

/* ---- gates that gate nothing ------------------------------------------- */

static void test_empty_gates(void)
{
	struct kq_runset rs;
	struct kq_cmp c;
	struct kq_cmp_opts o;
	char err[256], why[512];
	kq_cmp_opts_default(&o);

	json_t *b = run(2, 1, 1, 1);
	json_object_set_new(b, "tests", json_array());
	pair(&rs, run(1, 1, 1, 1), b);
	is_int(kq_compare_build(&rs, &o, &c, err, sizeof(err)), 0, "empty candidate: builds");
	ok(kq_compare_empty(&c, why, sizeof(why)) != NULL, "empty candidate: nothing compared");
	ok(strstr(why, "share no metric") != NULL, "empty candidate: says so (%s)", why);
	is_int(kq_compare_missing_failures(&c), 12, "empty candidate: its 12 tests are missing");
	kq_compare_free(&c);
	kq_runset_free(&rs);

	pair(&rs, run(1, 1, 1, 1), run(2, 1, 1, 1));
	const char *none[] = {"nomatch*"};
	o.globs = none;
	o.nglobs = 1;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	ok(kq_compare_empty(&c, why, sizeof(why)) && strstr(why, "matches no metric"),
	   "--metric matching nothing: an error (%s)", why);
	kq_compare_free(&c);
	json_t *a2 = run(1, 1, 1, 1), *b2 = run(2, 1, 1, 1);
	json_t *pg = json_pack("{s:s,s:s,s:f}", "name", "pages", "unit", "pages", "value", 1.0);
	json_array_append(
	    json_object_get(json_array_get(json_object_get(a2, "tests"), 0), "metrics"), pg);
	json_array_append_new(
	    json_object_get(json_array_get(json_object_get(b2, "tests"), 0), "metrics"), pg);
	kq_runset_free(&rs);
	pair(&rs, a2, b2);
	const char *pages[] = {"pages"};
	o.globs = pages;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	ok(kq_compare_empty(&c, why, sizeof(why)) && strstr(why, "none with a direction"),
	   "--metric matching only a count: gates nothing (%s)", why);
	kq_compare_free(&c);
	const char *both[] = {"pages", "cpuid.*"};
	o.globs = both;
	o.nglobs = 2;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	ok(kq_compare_empty(&c, why, sizeof(why)) != NULL,
	   "one of two globs gating nothing: an error");
	kq_compare_free(&c);
	o.globs = both + 1;
	o.nglobs = 1;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	ok(kq_compare_empty(&c, why, sizeof(why)) == NULL, "--metric 'cpuid.*' gates: fine");
	kq_compare_free(&c);
	kq_runset_free(&rs);

	ok(kq_cmp_glob_valid("cpuid.*") && kq_cmp_glob_valid("exit.[a-z]*/*") &&
	       kq_cmp_glob_valid("[]]x") && kq_cmp_glob_valid("[!a]") && kq_cmp_glob_valid("a\\["),
	   "well-formed globs");
	ok(!kq_cmp_glob_valid("[") && !kq_cmp_glob_valid("x[a-") && !kq_cmp_glob_valid("ab\\") &&
	       !kq_cmp_glob_valid("[]"),
	   "an unclosed '[' or a trailing backslash is not a glob");
}

/* ---- many metrics ------------------------------------------------------- */

#define MANY	 3000
#define MANY_N	 20
#define PLANTED	 60
#define NOISE_CV 0.02

/* MANY tests of one latency each, log-normal noise of CV; tests i < planted
 * are FACTOR slower. */
static json_t *many_cv(uint64_t seed, size_t planted, double factor, double cv)
{
	struct kq_rng r;
	kq_rng_seed(&r, seed);
	json_t *tests = json_array();
	for (size_t i = 0; i < MANY; i++) {
		char tname[32];
		double v[MANY_N];
		json_t *samples = json_array();
		for (size_t k = 0; k < MANY_N; k++) {
			v[k] = 1000.0 * (double)(1 + i % 7) * exp(cv * gauss(&r)) *
			       (i < planted ? factor : 1.0);
			json_array_append_new(samples, json_real(v[k]));
		}
		snprintf(tname, sizeof(tname), "t%zu", i);
		json_array_append_new(tests, json_pack("{s:s,s:s,s:[{s:s,s:s,s:o}]}", "name", tname,
						       "status", "pass", "metrics", "name", "x.ns",
						       "unit", "ns", "samples", samples));
	}
	return json_pack("{s:s,s:{s:s,s:s},s:{s:s,s:s},s:s,s:{s:s},s:o}", "schema_version", "1.0",
			 "tool", "name", "kvmqual", "version", "0.1.0", "run", "id", "many",
			 "started", "2026-11-26T16:00:00Z", "environment", "nested", "host",
			 "hostname", "h", "tests", tests);
}

static json_t *many(uint64_t seed, size_t planted, double factor)
{
	return many_cv(seed, planted, factor, NOISE_CV);
}

static size_t alarms(const struct kq_cmp *c, size_t from, size_t to, bool raw, double level)
{
	size_t n = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		int t = atoi(c->rows[i].test + 1);
		const struct kq_cmp_delta *d = &c->rows[i].d[1];
		if (t < (int)from || t >= (int)to)
			continue;
		if (raw ? d->has_test && d->mw.p < level
			: d->verdict == KQ_V_WORSE || d->verdict == KQ_V_BETTER)
			n++;
	}
	return n;
}

static void test_many_metrics(void)
{
	struct kq_runset rs;
	struct kq_cmp c;
	struct kq_cmp_opts o;
	char err[256];

	/* Noise alone, with no threshold and no floor, so that the false
	 * discovery rate alone stands between noise and a verdict. With every
	 * hypothesis true, controlling the FDR at 5% bounds the chance of any
	 * false alarm in a comparison by 5%. */
	kq_cmp_opts_default(&o);
	o.threshold_pct = 0;
	o.min_effect_pct = 0;
	size_t with_alarm = 0, raw = 0, rounds = 20;
	for (size_t k = 0; k < rounds; k++) {
		memset(&rs, 0, sizeof(rs));
		kq_runset_add_json(&rs, many(100 + 2 * k, 0, 1), "A", err, sizeof(err));
		kq_runset_add_json(&rs, many(101 + 2 * k, 0, 1), "B", err, sizeof(err));
		if (kq_compare_build(&rs, &o, &c, err, sizeof(err)) != 0)
			break;
		with_alarm += alarms(&c, 0, MANY, false, 0) > 0;
		raw += alarms(&c, 0, MANY, true, 0.05);
		kq_compare_free(&c);
		kq_runset_free(&rs);
	}
	printf("# noise alone, %zu comparisons of %d metrics: %zu with a false alarm; raw p < 0.05 "
	       "in %zu metrics\n",
	       rounds, MANY, with_alarm, raw);
	ok(with_alarm <= 3, "noise alone: at most 3 of 20 comparisons with any false alarm "
			    "(expected at most 1 at a 5%% rate)");
	ok(raw > rounds * MANY / 40,
	   "noise alone: a raw p < 0.05 per metric would have raised hundreds (%zu)", raw);

	/* Defaults (threshold 5%, floor 1%): noise alone raises nothing at all. */
	kq_cmp_opts_default(&o);
	memset(&rs, 0, sizeof(rs));
	kq_runset_add_json(&rs, many(1, 0, 1), "A", err, sizeof(err));
	kq_runset_add_json(&rs, many(2, 0, 1), "B", err, sizeof(err));
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(alarms(&c, 0, MANY, false, 0), 0, "noise alone, defaults: no verdict but same");
	is_int(c.counts[1].tested, MANY, "the family is every tested metric");
	kq_compare_free(&c);
	kq_runset_free(&rs);

	/* Planted: 60 of 3000 metrics 8% slower; found, and few false ones. */
	memset(&rs, 0, sizeof(rs));
	kq_runset_add_json(&rs, many(1, 0, 1), "A", err, sizeof(err));
	kq_runset_add_json(&rs, many(2, PLANTED, 1.08), "B", err, sizeof(err));
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	size_t found = alarms(&c, 0, PLANTED, false, 0), fake = alarms(&c, PLANTED, MANY, false, 0);
	printf("# planted +8%% in %d of %d: %zu found, %zu false\n", PLANTED, MANY, found, fake);
	ok(found >= PLANTED * 9 / 10, "planted: at least 90%% of the shifts found (%zu)", found);
	ok(fake == 0, "planted, threshold 5%%: no false discovery");
	ok(c.rows[0].d[1].p_adj >= c.rows[0].d[1].mw.p, "the adjusted p is never below the raw p");
	kq_compare_free(&c);
	o.threshold_pct = 0;
	o.min_effect_pct = 0;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	found = alarms(&c, 0, PLANTED, false, 0);
	fake = alarms(&c, PLANTED, MANY, false, 0);
	printf("# planted, no threshold: %zu found, %zu false\n", found, fake);
	ok(fake * 20 <= found + fake, "planted, no threshold: false discoveries within 5%% of the "
				      "discoveries");
	kq_compare_free(&c);
	kq_runset_free(&rs);

	/* The floor: 0.5% slower with almost no noise is significant, yet below
	 * the 1% minimum effect never a regression, whatever the threshold. */
	memset(&rs, 0, sizeof(rs));
	kq_runset_add_json(&rs, many_cv(1, PLANTED, 1, 0.001), "A", err, sizeof(err));
	kq_runset_add_json(&rs, many_cv(2, PLANTED, 1.005, 0.001), "B", err, sizeof(err));
	kq_cmp_opts_default(&o);
	o.threshold_pct = 0;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	const struct kq_cmp_row *row = find(&c, "t0", "x.ns");
	ok(row && row->d[1].p_adj < 0.05 && row->d[1].verdict == KQ_V_SAME,
	   "+0.5%%, significant, threshold 0: below the 1%% floor, same");
	is_int(alarms(&c, 0, MANY, false, 0), 0, "+0.5%%: none of the 60 is a regression");
	kq_compare_free(&c);
	o.min_effect_pct = 0;
	kq_compare_build(&rs, &o, &c, err, sizeof(err));
	is_int(alarms(&c, 0, PLANTED, false, 0), PLANTED, "--min-effect 0: the 60 are worse");
	kq_compare_free(&c);
	kq_runset_free(&rs);
}

static void test_bh(void)
{
	static const double p[] = {0.01, 0.04, 0.03, 0.005}, want[] = {0.02, 0.04, 0.04, 0.02};
	double q[4];
	is_int(kq_bh_adjust(p, 4, q), 0, "Benjamini-Hochberg runs");
	for (size_t i = 0; i < 4; i++)
		is_near(q[i], want[i], 1e-12, "q of p = %g", p[i]);
	static const double big[] = {0.9, 0.8};
	kq_bh_adjust(big, 2, q);
	ok(q[0] == 0.9 && q[1] == 0.9, "q never above the largest p, never above 1");
	is_int(kq_bh_adjust(p, 0, q), 0, "no tests: nothing to adjust");
}

int main(void)
{
	test_rng();
	test_mann_whitney();
	test_bootstrap();
	test_rules();
	test_compare_pairs();
	test_missing_and_hosts();
	test_empty_gates();
	test_bh();
	test_many_metrics();
	return done_testing();
}
