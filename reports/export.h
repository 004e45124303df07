/* Exports of one run for CI systems: JUnit XML, KTAP and CSV.
 *
 * JUnit and KTAP group tests into suites by their first group ("ungrouped"
 * when a test has none), so every test is counted once. */
#ifndef KQ_REPORTS_EXPORT_H
#define KQ_REPORTS_EXPORT_H

#include "reports/runset.h"
#include "core/strbuf.h"

/* <testsuites> with a <testsuite> per group and a <testcase> per test:
 * <skipped message=reason>, <failure message=reason type=...> with the failed
 * checks and diagnostics, <system-out> with the metrics; times in seconds. */
void kq_export_junit(const struct kq_run *r, struct kq_buf *out);
/* KTAP version 1: one subtest block per group, `ok N name # SKIP reason`,
 * reasons and diagnostics as `#` lines before a failed result. */
void kq_export_ktap(const struct kq_run *r, struct kq_buf *out);
/* One row per metric (header first); see docs/results-schema.md. */
void kq_export_csv(const struct kq_run *r, struct kq_buf *out);

/* The first group of TEST, or "ungrouped". */
const char *kq_test_suite(const json_t *test);

#endif
