/* Descriptive statistics over samples. Percentiles use linear interpolation
 * between closest ranks (type 7, as R and numpy default). */
#ifndef KQ_CORE_STATS_H
#define KQ_CORE_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct kq_stats {
	size_t n;
	double min, max, median, mean, p99, stddev; /* stddev: sample (n-1) */
};

/* Does not modify v; n == 0 gives all zeros. Returns 0, or -1 on allocation failure. */
int kq_stats_compute(const double *v, size_t n, struct kq_stats *out);
/* The statistics of a metric, in results.json's order; NULL-terminated. */
extern const char *const kq_stat_names[];
/* True for a name of kq_stat_names other than "n" (a bound can apply to it). */
bool kq_stat_is_bound(const char *name);
/* qsort comparator of doubles, ascending. */
int kq_cmp_double(const void *a, const void *b);
double kq_percentile_sorted(const double *sorted, size_t n, double p);
/* Coefficient of variation (stddev/mean) of a small set, 0 when mean is 0. */
double kq_cv(const double *v, size_t n);

#endif
