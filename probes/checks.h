/* Conformance checks over the host probes: the logic behind the `probe.*`
 * drivers, kept free of the runner so that tests can feed
 * recorded trees and parameters directly.
 *
 * Parameters every check accepts (besides its own):
 *   root        read a recorded tree instead of the live host (tests, demos)
 *   enforce     no: a failed expectation is reported but passes (informative)
 *   on_unknown  skip (default) or fail: what a fact that cannot be read gives
 *
 * Verdicts: an expectation the host does not meet is FAIL; a fact that cannot
 * be known (file absent, module not loaded, no /dev/kvm) is SKIP with the
 * reason, or FAIL with on_unknown = fail. */
#ifndef KQ_PROBES_CHECKS_H
#define KQ_PROBES_CHECKS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "core/result.h"
#include "core/test.h"

/* Returns the value of parameter key, or NULL when the profile does not set it. */
typedef const char *(*kq_param_fn)(const void *ctx, const char *key);

struct kq_check_out {
	enum kq_status status;
	char reason[1024];
	json_t *evidence; /* object: what the verdict rests on */
	json_t *notes;	  /* array of strings: non-fatal observations */
	bool enforce;	  /* from the common parameters */
	bool unknown_fails;
};

typedef void (*kq_check_fn)(const char *root, kq_param_fn get, const void *ctx,
			    struct kq_check_out *out);

/* What a probe driver's `data` points at: the check behind it. The driver
 * row (probes/checks.c) holds its name "probe.<check>", summary, KVM need
 * and parameters (its own, then the common ones). */
struct kq_check {
	kq_check_fn run;
};

/* The probe.* drivers, one per check, in table order. */
const struct kq_driver *kq_checks(size_t *n);
/* By check name, with or without the "probe." prefix; NULL when unknown. */
const struct kq_driver *kq_check_find(const char *name);

/* Parameters every check takes (NULL-key terminated). */
const struct kq_param_spec *kq_check_common_params(void);

/* The driver's run: the check with the test's parameters (probes/drivers.c). */
void kq_probe_run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		  struct kq_result *res);

/* Runs a check: reads root/enforce/on_unknown through get, fills out
 * (out->evidence and out->notes are new references the caller releases
 * with kq_check_out_free). */
void kq_check_run(const struct kq_driver *d, kq_param_fn get, const void *ctx,
		  struct kq_check_out *out);
void kq_check_out_free(struct kq_check_out *out);

#endif
