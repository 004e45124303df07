/* --repeat: kq_merge_repeats folds K runs of one test into the first: every
 * repeat's samples are pooled (statistics over the pool, each repeat's count
 * kept), and "<metric>.median_cv" is added per sample metric. Metrics that share a name (scaling:
 * one per vCPU count and vCPU) must be matched by their labels, not by name. */
#include "runner/execute.h"
#include "tests/tap.h"

#include <math.h>
#include <string.h>
#include <stdlib.h>

static json_t *run(double m0, double m1, double m2, const char *status)
{
	json_t *metrics = json_array();
	const double med[3] = {m0, m1, m2};
	const int vcpus[3] = {1, 2, 2}, vcpu[3] = {0, 0, 1};
	for (int i = 0; i < 3; i++)
		json_array_append_new(
		    metrics, json_pack("{s:s, s:s, s:{s:f}, s:{s:i, s:i, s:i}}", "name", "cpuid.ns",
				       "unit", "ns", "stats", "median", med[i], "labels", "vcpus",
				       vcpus[i], "vcpu", vcpu[i], "batch_size", 512 * (i + 1)));
	json_array_append_new(metrics, json_pack("{s:s, s:s, s:f}", "name", "startup.us", "unit",
						 "us", "value", 10.0));
	return json_pack("{s:s, s:s, s:s, s:o}", "name", "exit.scaling.cpuid", "status", status,
			 "reason", status[0] == 'f' ? "watchdog" : "", "metrics", metrics);
}

static const json_t *cv_for(const json_t *res, int vcpus, int vcpu)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(res, "metrics"), i, m)
	{
		const json_t *l = json_object_get(m, "labels");
		if (strcmp(json_string_value(json_object_get(m, "name")), "cpuid.ns.median_cv") ==
			0 &&
		    json_integer_value(json_object_get(l, "vcpus")) == vcpus &&
		    json_integer_value(json_object_get(l, "vcpu")) == vcpu)
			return m;
	}
	return NULL;
}

/* Sample coefficient of variation, computed here independently. */
static double cv3(double a, double b, double c)
{
	double mean = (a + b + c) / 3;
	double var =
	    ((a - mean) * (a - mean) + (b - mean) * (b - mean) + (c - mean) * (c - mean)) / 2;
	return sqrt(var) / mean;
}

static json_t *sampled(const double *v, size_t n, int batch, double value, const char *status)
{
	struct kq_result r;
	kq_result_init(&r, "exit.cpuid");
	json_t *m = kq_result_add_samples(&r, "cpuid.ns", "ns", v, n);
	json_object_set_new(json_object_get(m, "labels"), "kind", json_string("cpuid"));
	json_object_set_new(json_object_get(m, "labels"), "batch_size", json_integer(batch));
	kq_result_add_value(&r, "ratio_vs_reference", "ratio", value);
	kq_result_set_status(&r, status[0] == 'p' ? KQ_PASS : KQ_FAIL, "%s", "");
	return r.obj;
}

static const json_t *metric(const json_t *res, const char *name)
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

/* All repeats' samples are kept and the statistics are over the pool. */
static void test_pooling(void)
{
	const double a[] = {10, 11, 12}, b[] = {20, 21, 22, 23}, c[] = {30, 31};
	json_t *runs[3] = {sampled(a, 3, 64, 1.0, "pass"), sampled(b, 4, 128, 3.0, "pass"),
			   sampled(c, 2, 64, 2.0, "pass")};
	json_t *res = kq_merge_repeats(runs, 3);
	const json_t *m = metric(res, "cpuid.ns");
	const json_t *st = json_object_get(m, "stats");
	is_int((long)json_array_size(json_object_get(m, "samples")), 9,
	       "the pooled metric holds the samples of all three repeats");
	is_int((long)json_integer_value(json_object_get(st, "n")), 9, "stats.n counts the pool");
	is_near(json_number_value(json_object_get(st, "median")), 21, 1e-12,
		"the median is the pool's (10..12, 20..23, 30..31: 21), not the first repeat's");
	is_near(json_number_value(json_object_get(st, "min")), 10, 1e-12, "min over the pool");
	is_near(json_number_value(json_object_get(st, "max")), 31, 1e-12, "max over the pool");
	const json_t *per = json_object_get(m, "samples_per_repeat");
	ok(json_array_size(per) == 3 && json_integer_value(json_array_get(per, 0)) == 3 &&
	       json_integer_value(json_array_get(per, 1)) == 4 &&
	       json_integer_value(json_array_get(per, 2)) == 2,
	   "samples_per_repeat labels the samples by repeat: 3, 4, 2");
	is_near(json_number_value(json_array_get(json_object_get(m, "samples"), 3)), 20, 1e-12,
		"samples are in repeat order");
	ok(!json_object_get(json_object_get(m, "labels"), "batch_size"),
	   "a batch size that differed between repeats is dropped from the pooled labels");
	is_str(json_string_value(json_object_get(json_object_get(m, "labels"), "kind")), "cpuid",
	       "identity labels stay");
	const json_t *v = metric(res, "ratio_vs_reference");
	is_near(json_number_value(json_object_get(v, "value")), 2.0, 1e-12,
		"a value metric becomes the median of the repeats' values");
	is_int((long)json_array_size(json_object_get(v, "repeat_values")), 3,
	       "and keeps each repeat's value");
	const json_t *cv = metric(res, "cpuid.ns.median_cv");
	ok(cv != NULL, "the CV of medians stays");
	if (cv)
		is_near(json_number_value(json_object_get(cv, "value")), cv3(11, 21.5, 30.5), 1e-9,
			"over the per-repeat medians 11, 21.5, 30.5");
	int n = 0;
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(res, "metrics"), i, x) n +=
	    strcmp(json_string_value(json_object_get(x, "name")), "cpuid.ns") == 0;
	is_int(n, 1, "one pooled metric, not one per repeat");
	json_decref(res);
}

int main(void)
{
	json_t *runs[3] = {run(100, 200, 400, "pass"), run(110, 200, 300, "pass"),
			   run(90, 200, 500, "pass")};
	json_t *res = kq_merge_repeats(runs, 3);
	const json_t *a = cv_for(res, 1, 0), *b = cv_for(res, 2, 0), *c = cv_for(res, 2, 1);
	ok(a && b && c, "one CV per (vcpus, vcpu) metric");
	if (a && b && c) {
		is_near(json_number_value(json_object_get(a, "value")), cv3(100, 110, 90), 1e-9,
			"vcpus=1: CV of 100, 110, 90");
		is_near(json_number_value(json_object_get(b, "value")), 0, 1e-12,
			"vcpus=2 vcpu=0: equal medians give CV 0 (not mixed with vcpu 1)");
		is_near(json_number_value(json_object_get(c, "value")), cv3(400, 300, 500), 1e-9,
			"vcpus=2 vcpu=1: CV of 400, 300, 500");
		is_int((long)json_array_size(json_object_get(c, "medians")), 3,
		       "the CV keeps the three medians");
	}
	is_int((long)json_array_size(json_object_get(res, "metrics")), 4 + 3,
	       "three CVs added; the plain value metric gets none");
	is_int((long)json_array_size(json_object_get(res, "repeats")), 3, "every repeat listed");
	is_str(json_string_value(json_object_get(res, "status")), "pass", "all passed: pass");
	json_decref(res);

	json_t *mixed[2] = {run(1, 2, 3, "pass"), run(1, 2, 3, "fail")};
	res = kq_merge_repeats(mixed, 2);
	is_str(json_string_value(json_object_get(res, "status")), "fail",
	       "a failed repeat fails the test");
	is_str(json_string_value(json_object_get(res, "reason")), "repeat 1: watchdog",
	       "the reason names the repeat");
	json_decref(res);
	test_pooling();

	json_t *stopped[2] = {run(1, 2, 3, "pass"), run(1, 2, 3, "fail")};
	json_object_set_new(stopped[1], "interrupted", json_true());
	res = kq_merge_repeats(stopped, 2);
	ok(json_is_true(json_object_get(res, "interrupted")) &&
	       strcmp(json_string_value(json_object_get(res, "status")), "fail") == 0,
	   "a repeat stopped by a signal marks the test interrupted");
	json_decref(res);
	return done_testing();
}
