/* Runs one declared test in a forked child with a time limit, so a crash,
 * hang or triple fault fails that test alone; returns its result object. */
#ifndef KQ_RUNNER_EXECUTE_H
#define KQ_RUNNER_EXECUTE_H

#include <jansson.h>
#include "core/test.h"

/* Always returns a result object (new reference) in the results.json shape. */
json_t *kq_execute_test(const struct kq_test *t, const struct kq_run_opts *o);
/* Applies the test's thresholds to a result: adds "verdict", may set FAIL. */
void kq_apply_thresholds(const struct kq_test *t, json_t *result);
/* Folds K repeats into the first: every sampled metric keeps all repeats' samples
 * (in repeat order, "samples_per_repeat" says how many each gave) with statistics
 * over the pool; a value metric becomes the median of the repeats' values (each
 * kept in "repeat_values"); "<metric>.median_cv" is the CV of the per-repeat medians. */
json_t *kq_merge_repeats(json_t **runs, int k);

#endif
