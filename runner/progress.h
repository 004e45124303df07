/* What `kvmqual run` shows people on a terminal: one line per test as it
 * finishes (status, name, headline figure), a progress line while a long
 * test runs, and a closing summary. TAP is for machines (core/tap.h). */
#ifndef KQ_RUNNER_PROGRESS_H
#define KQ_RUNNER_PROGRESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/strbuf.h"
#include "core/test.h"

/* The figure that says most about a result, e.g. "3.85 us median, kernel":
 * the median of its first timed metric (not the reference loop's), else of
 * its first sampled metric, else its first value; nothing when it has none. */
void kq_headline(const json_t *res, struct kq_buf *b);
/* "PASS  exit.cpuid  3.85 us median, kernel", "FAIL  name  reason",
 * "SKIP  name  reason"; NAME_WIDTH pads the names into a column. */
void kq_progress_result(FILE *f, const json_t *res, int name_width);
/* Shows "elapsed against the time goal" on F while tests run (for
 * kq_execute_progress), for tests that take longer than a few seconds. */
void kq_progress_start(FILE *f, const struct kq_run_opts *o);
void kq_progress_tick(const struct kq_test *t, double elapsed_s);
/* The closing summary of a finished run document. */
void kq_progress_summary(FILE *f, const json_t *doc, double seconds);

#endif
