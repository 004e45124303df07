/* Conformance checks over the host probes: the logic behind the `probe.*`
 * drivers (probes/drivers.c), kept free of the runner so that tests can feed
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

struct kq_check {
	const char *name;    /* the driver is "probe.<name>" */
	const char *summary; /* one line */
	bool needs_kvm;
	const struct kq_param_spec *params; /* own parameters, NULL-key terminated */
	void (*run)(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *out);
};

const struct kq_check *kq_checks(size_t *n);
const struct kq_check *kq_check_find(const char *name);

/* Parameters every check takes (NULL-key terminated). */
const struct kq_param_spec *kq_check_common_params(void);

/* Runs a check: reads root/enforce/on_unknown through get, fills out
 * (out->evidence and out->notes are new references the caller releases
 * with kq_check_out_free). */
void kq_check_run(const struct kq_check *c, kq_param_fn get, const void *ctx,
		  struct kq_check_out *out);
void kq_check_out_free(struct kq_check_out *out);

#endif
