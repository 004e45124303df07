/* The `probe.*` drivers: one per conformance check (probes/checks.c). Each
 * runs in the runner's forked child, reads the host (or the recorded tree
 * named by `root`), and records its verdict with the evidence. */
#include "probes/checks.h"
#include "core/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHECKS 32
#define MAX_SPEC   24

static struct kq_driver drivers[MAX_CHECKS];
static struct kq_param_spec specs[MAX_CHECKS][MAX_SPEC];
static char names[MAX_CHECKS][48];

static const char *test_param(const void *ctx, const char *key)
{
	return kq_test_param((const struct kq_test *)ctx, key, NULL);
}

static void run_probe(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	const struct kq_check *c = d->data;
	struct kq_check_out out;
	kq_check_run(c, test_param, t, &out);
	const char *k;
	json_t *v;
	json_object_foreach(out.evidence, k, v) kq_result_set_evidence(res, k, json_incref(v));
	size_t i;
	json_array_foreach(out.notes, i, v) kq_result_diag(res, "%s", json_string_value(v));
	kq_result_set_status(res, out.status, "%s", out.reason);
	kq_check_out_free(&out);
}

__attribute__((constructor)) static void kq_register_probe_drivers(void)
{
	size_t n;
	const struct kq_check *c = kq_checks(&n);
	const struct kq_param_spec *common = kq_check_common_params();
	for (size_t i = 0; i < n && i < MAX_CHECKS; i++) {
		size_t k = 0;
		for (const struct kq_param_spec *p = c[i].params; p && p->key && k + 1 < MAX_SPEC;
		     p++)
			specs[i][k++] = *p;
		for (const struct kq_param_spec *p = common; p->key && k + 1 < MAX_SPEC; p++)
			specs[i][k++] = *p;
		specs[i][k].key = NULL;
		snprintf(names[i], sizeof(names[i]), "probe.%s", c[i].name);
		drivers[i].name = names[i];
		drivers[i].summary = c[i].summary;
		drivers[i].needs_kvm = c[i].needs_kvm;
		drivers[i].params = specs[i];
		drivers[i].run = run_probe;
		drivers[i].data = &c[i];
		kq_driver_register(&drivers[i]);
	}
}
