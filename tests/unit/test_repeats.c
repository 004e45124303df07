/* --repeat: kq_merge_repeats folds K runs of one test into the first, adding
 * "<metric>.median_cv" per sample metric. Metrics that share a name (scaling:
 * one per vCPU count and vCPU) must be matched by their labels, not by name. */
#include "runner/execute.h"
#include "tests/tap.h"

#include <math.h>
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
	return done_testing();
}
