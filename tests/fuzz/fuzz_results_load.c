/* libFuzzer target: the results.json loader (reports/results_load.c: jansson,
 * the shape check, statistics against samples, unique names), reading the
 * input as a file, then the accessors the reports use on what it accepts.
 * A load error is an expected outcome; a crash, leak, sanitizer report or
 * hang is a defect. */
#include "reports/results_load.h"
#include "tests/fuzz/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "";
	json_t *root = NULL, *t, *m;
	size_t i, j;
	if (kq_results_load(fuzz_file(data, size), &root, err, sizeof(err)) == 0) {
		kq_jpath_str(root, "host.cpu.brand", "?");
		kq_jpath_str(root, "run.id", "?");
		json_array_foreach(json_object_get(root, "tests"), i, t)
		{
			kq_jstr(t, "name", "?");
			kq_jnum(t, "duration_s", 0);
			json_array_foreach(json_object_get(t, "metrics"), j, m)
			{
				kq_metric_handled_in(m);
				kq_metric_has_stats(m);
				kq_metric_has_value(m);
			}
		}
		json_decref(root);
	} else if (!err[0] || root) {
		__builtin_trap(); /* a failed load says why and returns nothing */
	}
	return 0;
}
