/* Two-sample inference for `kvmqual compare`: the Mann-Whitney U test and a
 * bootstrap confidence interval of the difference of medians, with a small
 * seeded generator so every run of compare prints the same numbers. */
#ifndef KQ_REPORTS_INFERENCE_H
#define KQ_REPORTS_INFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xoshiro256** whose state is filled from the seed by splitmix64. */
struct kq_rng {
	uint64_t s[4];
};

void kq_rng_seed(struct kq_rng *r, uint64_t seed);
uint64_t kq_rng_next(struct kq_rng *r);
/* Uniform in [0, n): the high 64 bits of next() * n. */
size_t kq_rng_below(struct kq_rng *r, size_t n);

struct kq_mwu {
	double u1;  /* U of the first sample: pairs a > b, ties counted 1/2 */
	double u2;  /* na * nb - u1 */
	double z;   /* normal approximation (0 when exact) */
	double p;   /* two-sided p-value */
	bool exact; /* exact null distribution (no ties, na + nb <= KQ_MWU_EXACT_MAX) */
};

#define KQ_MWU_EXACT_MAX 30

/* Two-sided Mann-Whitney U test. Exact when there are no ties and
 * na + nb <= KQ_MWU_EXACT_MAX: p = min(1, 2 min(P(U <= u1), P(U >= u1))).
 * Otherwise the normal approximation with the tie correction of the variance
 * and a continuity correction of 0.5:
 *   z = (|u1 - na nb / 2| - 0.5) / sqrt(na nb / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1))))
 *   p = erfc(z / sqrt 2), clamped to [0, 1]; p = 1 when every value is equal.
 * Returns 0, or -1 when a sample is empty or memory runs out. */
int kq_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct kq_mwu *out);

/* Percentile bootstrap interval of median(b) - median(a) at LEVEL (0.95):
 * REPS resamples, each drawing na indices into a and then nb into b with
 * kq_rng_below from a generator seeded with SEED (the indices point into
 * sorted copies of a and b). Medians as in kq_stats_compute; the bounds are
 * kq_percentile_sorted at 100 (1 - LEVEL) / 2 and 100 (1 + LEVEL) / 2 of the
 * sorted differences. Both bounds are NaN when a difference is (medians
 * near the limits of a double overflow).
 * Returns 0, or -1 when a sample is empty or memory runs out. */
int kq_bootstrap_median_diff(const double *a, size_t na, const double *b, size_t nb, unsigned reps,
			     double level, uint64_t seed, double *lo, double *hi);

/* Benjamini-Hochberg adjusted p-values ("q-values") of n tests:
 *   q(i) = min over ranks r >= rank(i) of p(r) n / r, at most 1,
 * with the p sorted ascending. Rejecting every q < Q keeps the expected
 * share of false discoveries among the discoveries at or below Q
 * (independent or positively dependent tests). Returns 0, or -1 (memory). */
int kq_bh_adjust(const double *p, size_t n, double *q);

#endif
