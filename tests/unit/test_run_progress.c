/* The headline figure of a test's line on a terminal (runner/progress.c):
 * the median of its first timed metric, in the unit people read, and where
 * the exit was handled; never the reference loop's. */
#include "runner/progress.h"
#include "tests/tap.h"

#include <string.h>

static json_t *metric(const char *name, const char *unit, double median, const char *where)
{
	json_t *m = json_pack("{s:s, s:s, s:{}, s:{s:f}}", "name", name, "unit", unit, "labels",
			      "stats", "median", median);
	if (where)
		json_object_set_new(json_object_get(m, "labels"), "handled_in", json_string(where));
	return m;
}

static const char *headline(json_t *metrics)
{
	static char out[256];
	json_t *res =
	    json_pack("{s:s, s:s, s:o}", "name", "t", "status", "pass", "metrics", metrics);
	struct kq_buf b = KQ_BUF_INIT;
	kq_headline(res, &b);
	snprintf(out, sizeof(out), "%s", kq_buf_str(&b));
	kq_buf_free(&b);
	json_decref(res);
	return out;
}

int main(void)
{
	is_str(headline(json_pack("[o, o]", metric("cpuid.cycles", "cycles", 7700, "kernel"),
				  metric("cpuid.ns", "ns", 3850, "kernel"))),
	       "3.85 us median, kernel", "the timed metric, not cycles; 3850 ns read as 3.85 us");
	json_t *ref = metric("reference.pio-user.ns", "ns", 5000, "userspace");
	json_object_set_new(json_object_get(ref, "labels"), "reference", json_true());
	is_str(headline(json_pack("[o, o]", ref, metric("pio-user.ns", "ns", 6007.5, "userspace"))),
	       "6.01 us median, userspace", "never the reference loop's figure");
	is_str(headline(json_pack("[o]", metric("create_to_first_exit.us", "us", 1677.9, NULL))),
	       "1.68 ms median", "microseconds past a thousand read as ms; no label, no comma");
	is_str(headline(json_pack("[o]", metric("hlt.ns", "ns", 27.5, "none"))), "27.5 ns median",
	       "handled nowhere says nothing");
	is_str(headline(json_pack("[o]", metric("dirty.rate", "MiB/s", 812.4, NULL))),
	       "812 MiB/s median", "a rate keeps its unit");
	is_str(headline(json_pack("[{s:s, s:s, s:f}]", "name", "ratio_vs_reference", "unit",
				  "ratio", "value", 1.02)),
	       "ratio_vs_reference 1.02", "a value metric is named");
	is_str(headline(json_array()), "", "no metric, no figure");
	return done_testing();
}
