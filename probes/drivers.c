/* The run of every `probe.*` driver (their table is in probes/checks.c): it
 * runs in the runner's forked child, reads the host (or the recorded tree
 * named by `root`) and records the check's verdict with its evidence. */
#include "probes/checks.h"
#include "core/test.h"

static const char *test_param(const void *ctx, const char *key)
{
	return kq_test_param((const struct kq_test *)ctx, key, NULL);
}

void kq_probe_run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		  struct kq_result *res)
{
	struct kq_check_out out;
	kq_check_run(d, test_param, t, &out);
	const char *k;
	json_t *v;
	json_object_foreach(out.evidence, k, v) kq_result_set_evidence(res, k, json_incref(v));
	size_t i;
	json_array_foreach(out.notes, i, v) kq_result_diag(res, "%s", json_string_value(v));
	kq_result_set_status(res, out.status, "%s", out.reason);
	kq_check_out_free(&out);
}
