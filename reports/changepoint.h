/* Step changes in a series of run medians (one value per run, in time order):
 * circular binary segmentation with a standardised CUSUM statistic and a
 * Monte Carlo significance test.
 *
 * Statistic of a segment x[0..n): the largest standardised CUSUM
 * |S_k| / sqrt(k (n-k) / n), S_k = sum_{i<k} (x_i - mean), divided by the
 * pooled standard deviation within the parts (the two-sample t statistic),
 * over single splits k and, circularly, over inner segments [i, j) against
 * the rest (a step up and back down), every piece at least KQ_CP_MIN_SEG runs. It does not depend
 * on the noise's mean or scale, so under independent Gaussian run-to-run noise its null
 * distribution depends on n alone; it is simulated (SIMS series from a fixed seed; fewer, at least
 * 199, for series longer than ~200 runs) and the p-value is exact up to simulation error. A split
 * is reported when p <= alpha, then both parts are searched again. False-alarm rate: a series
 * without any change is flagged with probability alpha (checked on pure-noise series in
 * tests/unit/test_changepoint.c). */
#ifndef KQ_REPORTS_CHANGEPOINT_H
#define KQ_REPORTS_CHANGEPOINT_H

#include <stddef.h>
#include <stdint.h>

#define KQ_CP_MIN_SEG	    2
#define KQ_CP_DEFAULT_ALPHA 0.01
#define KQ_CP_DEFAULT_SIMS  1999
#define KQ_CP_DEFAULT_SEED  1

struct kq_cp_opts {
	double alpha;
	unsigned sims;
	uint64_t seed;
};

struct kq_change {
	size_t at;	      /* index of the first run after the change */
	double p;	      /* Monte Carlo p-value of the split */
	double before, after; /* medians of the segments on each side */
};

void kq_cp_opts_default(struct kq_cp_opts *o);
/* The CUSUM statistic of x[0..n) and its split (index of the first value of
 * the second part); 0 when n < 2 * KQ_CP_MIN_SEG or there is no spread. */
double kq_cusum_stat(const double *x, size_t n, size_t *at);
/* Change points of x[0..n), in index order, at most MAX. Returns how many,
 * or -1 on allocation failure. */
int kq_changepoints(const double *x, size_t n, const struct kq_cp_opts *o, struct kq_change *out,
		    size_t max);

#endif
