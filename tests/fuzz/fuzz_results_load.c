/* libFuzzer target: the results.json loaders (reports/results_load.c: jansson,
 * the shape check, statistics against samples, unique names; and
 * reports/results_stream.c, the same read one test at a time), reading the
 * input as a file, then the accessors the reports use on what they accept.
 * A load error is an expected outcome; a crash, leak, sanitizer report or
 * hang is a defect, and so is any disagreement between the two loaders
 * (accepted or refused, the message, the document, the tests in order). */
#include <string.h>

#include "reports/results_load.h"
#include "reports/results_stream.h"
#include "tests/fuzz/input.h"

static int collect(void *ctx, size_t index, json_t *test, char *err, size_t errlen)
{
	(void)index;
	(void)err;
	(void)errlen;
	return json_array_append(ctx, test);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "", serr[1024] = "";
	json_t *root = NULL, *head = NULL, *t, *m;
	size_t i, j;
	const char *path = fuzz_file(data, size);
	int rc = kq_results_load(path, &root, err, sizeof(err));
	json_t *tests = json_array();
	int src = kq_results_stream(path, &head, collect, tests, serr, sizeof(serr));
	if (rc != src || (rc != 0 && strcmp(err, serr) != 0))
		__builtin_trap(); /* the loaders disagree */
	if (rc == 0) {
		if (!json_equal(json_object_get(root, "tests"), tests))
			__builtin_trap();
		json_t *whole = json_copy(root);
		json_object_set_new(whole, "tests", json_array());
		if (!json_equal(whole, head))
			__builtin_trap();
		json_decref(whole);
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
	} else if (!err[0] || root || head) {
		__builtin_trap(); /* a failed load says why and returns nothing */
	}
	json_decref(head);
	json_decref(tests);
	return 0;
}
