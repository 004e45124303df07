/* `kvmqual compare`: the same metrics across runs, the first run (A) the
 * baseline and each later run a candidate. Per metric and candidate: the
 * change of the median (or value) in percent, a bootstrap 95% confidence
 * interval of the difference of medians, a Mann-Whitney U test on the
 * samples, its p adjusted for the number of metrics (Benjamini-Hochberg),
 * and a verdict (better, worse, same) from a threshold, a minimum effect and
 * a false discovery rate. Host differences, test status changes and tests
 * missing from a candidate come along. */
#ifndef KQ_REPORTS_COMPARE_H
#define KQ_REPORTS_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/strset.h"
#include "reports/inference.h"
#include "reports/runset.h"

#define KQ_CMP_DEFAULT_THRESHOLD  5.0
#define KQ_CMP_DEFAULT_FDR	  0.05
#define KQ_CMP_DEFAULT_MIN_EFFECT 1.0
#define KQ_CMP_DEFAULT_RESAMPLES  2000
#define KQ_CMP_DEFAULT_SEED	  1
#define KQ_CMP_CI_LEVEL		  0.95

enum kq_better { KQ_LOWER_BETTER, KQ_HIGHER_BETTER, KQ_NO_DIRECTION };

/* Lower is better for time units (ns, us, ms, s), cycles and ratios; higher
 * for rates (a unit ending in "/s"); labels.better = "lower" | "higher"
 * overrides; anything else has no direction and is never gated. */
enum kq_better kq_metric_direction(const json_t *metric);

enum kq_verdict {
	KQ_V_SAME,
	KQ_V_BETTER,
	KQ_V_WORSE,
	KQ_V_CHANGED, /* beyond the threshold, but the metric has no direction */
	KQ_V_MISSING, /* in the baseline, not in this run */
	KQ_V_ADDED,   /* in this run, not in the baseline */
};
const char *kq_verdict_name(enum kq_verdict v);

/* Gating: a metric's "worse" fails the comparison (exit 1) when the metric
 * has a direction and, without --metric, has samples on both sides (then the
 * Mann-Whitney test backs the verdict); with --metric GLOB, every metric with
 * a direction whose name matches is gated, values without samples included.
 * A test of the baseline that a candidate lacks fails it too, unless
 * allow_missing. */
struct kq_cmp_opts {
	double threshold_pct;	  /* a change smaller than this is "same" */
	double min_effect_pct;	  /* ...and never smaller than this floor */
	double fdr;		  /* false discovery rate over one candidate's tests */
	bool allow_missing;	  /* tests missing from a candidate do not fail it */
	const char *const *globs; /* gate only metrics matching one of these... */
	size_t nglobs;		  /* ...none: gate every metric with a direction */
	unsigned resamples;	  /* bootstrap resamples */
	uint64_t seed;		  /* bootstrap seed, restarted for every metric */
};

void kq_cmp_opts_default(struct kq_cmp_opts *o);
/* Does GLOB (fnmatch) pick the metric? Matched against "METRIC" and "TEST/METRIC". */
bool kq_cmp_glob_match(const char *glob, const char *test, const char *metric);
/* Is GLOB a well-formed pattern (every '[' closed, no trailing '\')?
 * fnmatch reads a broken one as literal text, which matches nothing. */
bool kq_cmp_glob_valid(const char *glob);

struct kq_cmp_side {
	bool present;
	double center; /* median of the pooled samples, else the value */
	size_t n;      /* samples (0: a value or stats without samples) */
	const double *samples;
};

struct kq_cmp_delta {
	double diff;	  /* candidate centre - baseline centre */
	double delta_pct; /* diff / |baseline centre| * 100 */
	bool has_ci;
	double ci_lo, ci_hi; /* of median(candidate) - median(baseline) */
	bool has_test;	     /* false: no samples on one side, threshold alone decided */
	bool gated;	     /* a "worse" here fails the comparison */
	struct kq_mwu mw;
	double p_adj; /* mw.p adjusted over the candidate's tests (Benjamini-Hochberg) */
	enum kq_verdict verdict;
};

struct kq_cmp_row {
	const char *test, *metric, *unit; /* interned in the comparison's strings */
	const char *labels; /* "k=v, k=v" without kq_measurement_labels (pooled), interned */
	enum kq_better dir;
	bool gated; /* has a direction and matches --metric (when given) */
	/* one per run, into the comparison's arrays: sized by the runs given,
	 * not KQ_MAX_RUNS (3.5 KB a row of mostly unused slots was 2 GB at
	 * 100,000 tests) */
	struct kq_cmp_side *side;
	struct kq_cmp_delta *d; /* d[0] unused */
};

struct kq_cmp_counts {
	size_t same, better, worse, changed, missing, added, worse_gated;
	size_t compared; /* metrics present on both sides */
	size_t tested;	 /* ...with samples on both: the family the FDR is over */
};

/* A run's tests in file order (a pooled db: selection may repeat a name);
 * names: name -> index of its last occurrence. */
struct kq_cmp_test {
	const char *name, *status;
};
struct kq_cmp_tests {
	struct kq_cmp_test *v;
	size_t n, cap;
	struct kq_strset names;
};

/* One row's metric in one run, its members pooled: the samples as doubles
 * and what the centre needs, no pointer into a document (a streamed run's
 * tests are freed as they are read). */
struct kq_cmp_pool {
	double *samples;
	size_t n, cap, members;
	double value_sum;    /* value-only members: their values */
	double stats_median; /* the first member's stats.median (it had stats) */
	bool first_has_stats, has_value;
};

/* A row's identity (interned; missing fields ""): a metric of a test. */
struct kq_cmp_key {
	const char *test, *metric, *unit, *labels;
};

/* One run as read into a comparison (compare_pool.c), on its own so that
 * runs can be read side by side: its rows in order of first appearance
 * (identity, and the display fields of kq_cmp_row), a pool per row, its
 * tests. The strings are its own. */
struct kq_cmp_run {
	struct kq_strset strings; /* metric names, units, labels, statuses (tests: tests.names) */
	struct kq_cmp_key *keys;
	struct kq_cmp_row *rows; /* test, metric, unit, labels, dir */
	struct kq_cmp_pool *pools;
	size_t nrows, cap;
	size_t *slots, nslots; /* row index + 1, 0 empty */
	size_t *global;	       /* the comparison's row of each (kq_compare_finish) */
	struct kq_cmp_tests tests;
	bool failed; /* out of memory */
};

struct kq_cmp {
	const struct kq_runset *rs;
	struct kq_cmp_opts opts;
	struct kq_cmp_row *rows;
	size_t nrows;
	struct kq_cmp_side *sides;		  /* nrows x runs, behind rows[i].side */
	struct kq_cmp_delta *deltas;		  /* nrows x runs, behind rows[i].d */
	struct kq_cmp_counts counts[KQ_MAX_RUNS]; /* per candidate, [0] unused */
	json_t *host_diff;   /* [[field, value in A, value in B, ...], ...]; null where absent */
	json_t *status_diff; /* [[test, status in A, status in B, ...], ...] */
	json_t *missing_tests[KQ_MAX_RUNS];   /* names of A's tests a candidate lacks */
	size_t *glob_gates;		      /* per glob: metrics with a direction it picks */
	size_t *glob_hits;		      /* per glob: metrics it matches at all */
	struct kq_cmp_run *runs[KQ_MAX_RUNS]; /* what each run added up to */
};

/* Builds the comparison of the runs of RS (whole documents). Returns 0, or
 * -1 with a message (allocation). */
int kq_compare_build(const struct kq_runset *rs, const struct kq_cmp_opts *o, struct kq_cmp *out,
		     char *err, size_t errlen);

/* The same in steps (compare_pool.c): begin, then per run (in the order of
 * RS) add_doc (a run of RS held whole) or add_read (a file read by
 * kq_cmp_read_files: its run and document without tests are appended to C
 * and RS), then finish. After a failed step C is for kq_compare_free only.
 * Return 0, or -1 with a message. */
void kq_compare_begin(struct kq_cmp *c, const struct kq_runset *rs, const struct kq_cmp_opts *o);
int kq_compare_add_doc(struct kq_cmp *c, size_t run, char *err, size_t errlen);
int kq_compare_finish(struct kq_cmp *c, char *err, size_t errlen);

/* A results.json read one test at a time (results_stream.h) into a run. */
struct kq_cmp_file {
	const char *path_or_dir;
	json_t *head; /* the document without its tests */
	struct kq_cmp_run *run;
	int rc; /* 0, or -1 with err */
	char err[1024];
};
/* Reads the N files side by side (a thread each, at most one per CPU). */
void kq_cmp_read_files(struct kq_cmp_file *f, size_t n);
int kq_compare_add_read(struct kq_cmp *c, struct kq_runset *rs, struct kq_cmp_file *f, char *err,
			size_t errlen);
void kq_cmp_file_free(struct kq_cmp_file *f);

/* One test into run R's rows and pools; -1: out of memory. */
int kq_cmp_run_add_test(struct kq_cmp_run *r, json_t *test);
void kq_cmp_run_free(struct kq_cmp_run *r);
/* The centre of a pool: the median of its samples, else the first member's
 * stats.median, else the mean of the values; NAN for none. -1: memory. */
int kq_cmp_pool_center(const struct kq_cmp_pool *pl, double *center);
void kq_compare_free(struct kq_cmp *c);
/* Gated metrics that got worse, over every candidate. */
size_t kq_compare_regressions(const struct kq_cmp *c);
/* Tests of A missing from the candidates, over every candidate, that fail
 * the comparison (0 with allow_missing). */
size_t kq_compare_missing_failures(const struct kq_cmp *c);
/* Why the comparison judged nothing, or NULL: no candidate sharing a metric
 * with A, or a --metric glob that picks no gated metric (into ERR). */
const char *kq_compare_empty(const struct kq_cmp *c, char *err, size_t errlen);
/* The bootstrap intervals of every tested metric, over threads (the outputs
 * compute the ones they show on their own; the full page shows them all). */
int kq_compare_all_cis(struct kq_cmp *c);
/* One interval into d (has_ci set): returns 0, or -1 (memory). */
int kq_compare_ci(const struct kq_cmp *c, const struct kq_cmp_row *row, size_t cand,
		  struct kq_cmp_delta *d);

/* Verdict of one candidate against the baseline from the numbers alone
 * (exposed for tests): DELTA_PCT the change, SIGNIFICANT whether the test
 * (or its absence) lets the change count. */
enum kq_verdict kq_cmp_decide(enum kq_better dir, double delta_pct, bool significant,
			      double threshold_pct);

/* ---- output (compare_out.c) ---- */
#include "reports/chart.h"
#include "core/strbuf.h"

/* The plain-text summary printed on standard output. */
void kq_compare_text(const struct kq_cmp *c, struct kq_buf *out);
/* The self-contained HTML page, charts inline (their SVG). */
void kq_compare_html(const struct kq_cmp *c, const struct kq_charts *charts, struct kq_buf *out);
/* Markdown for CI comments; charts linked as PNG files under PNG_REL (or left out when NULL). */
void kq_compare_md(const struct kq_cmp *c, const struct kq_charts *charts, const char *png_rel,
		   struct kq_buf *out);
/* The comparison as JSON (compare_json.c): options, counts, missing tests
 * and every metric that is not "same" (ALL: every metric), raw and adjusted p. */
json_t *kq_compare_json(const struct kq_cmp *c, bool all);

#endif
