/* Runs one declared test in a forked child with a time limit, so a crash,
 * hang or triple fault fails that test alone; returns its result object. */
#ifndef KQ_RUNNER_EXECUTE_H
#define KQ_RUNNER_EXECUTE_H

#include <jansson.h>
#include "core/test.h"

#include <signal.h>

/* Always returns a result object (new reference) in the results.json shape.
 * When kq_stop_signal is set (before or while it runs) the test's process
 * group is killed and the result is a failure marked "interrupted". */
json_t *kq_execute_test(const struct kq_test *t, const struct kq_run_opts *o);
/* SIGINT, SIGTERM, SIGHUP: set kq_stop_signal and kill the running test's
 * process group; a second signal stops the runner at once. */
void kq_execute_on_signals(void);
/* The signal that stopped the run, 0 while none came. */
extern volatile sig_atomic_t kq_stop_signal;
/* When set, called about once a second while a test runs. */
extern void (*kq_execute_progress)(const struct kq_test *t, double elapsed_s);
/* Applies the test's thresholds to a result: adds "verdict", may set FAIL. */
void kq_apply_thresholds(const struct kq_test *t, json_t *result);
/* Folds K repeats into the first: every sampled metric keeps all repeats' samples
 * (in repeat order, "samples_per_repeat" says how many each gave) with statistics
 * over the pool; a value metric becomes the median of the repeats' values (each
 * kept in "repeat_values"); "<metric>.median_cv" is the CV of the per-repeat medians. */
json_t *kq_merge_repeats(json_t **runs, int k);

#endif
