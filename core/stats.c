#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const kq_stat_names[] = {"n", "min", "max", "median", "mean", "p99", "stddev", NULL};

bool kq_stat_is_bound(const char *name)
{
	for (const char *const *s = kq_stat_names + 1; *s; s++)
		if (strcmp(*s, name) == 0)
			return true;
	return false;
}

int kq_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double kq_percentile_sorted(const double *s, size_t n, double p)
{
	if (n == 0)
		return 0;
	if (p <= 0)
		return s[0];
	if (p >= 100)
		return s[n - 1];
	double h = (double)(n - 1) * p / 100.0;
	size_t lo = (size_t)floor(h);
	double frac = h - (double)lo;
	if (lo + 1 >= n)
		return s[n - 1];
	return s[lo] + frac * (s[lo + 1] - s[lo]);
}

int kq_stats_compute(const double *v, size_t n, struct kq_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return 0;
	double *s = malloc(n * sizeof(*s));
	if (!s)
		return -1;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), kq_cmp_double);

	/* Welford's update keeps the variance accurate for large cycle counts. */
	double mean = 0, m2 = 0;
	for (size_t i = 0; i < n; i++) {
		double d = s[i] - mean;
		mean += d / (double)(i + 1);
		m2 += d * (s[i] - mean);
	}
	out->min = s[0];
	out->max = s[n - 1];
	out->median = kq_percentile_sorted(s, n, 50);
	out->p99 = kq_percentile_sorted(s, n, 99);
	out->mean = mean;
	out->stddev = n > 1 ? sqrt(m2 / (double)(n - 1)) : 0;
	free(s);
	return 0;
}

double kq_cv(const double *v, size_t n)
{
	struct kq_stats st;
	if (kq_stats_compute(v, n, &st) != 0 || st.mean == 0)
		return 0;
	return st.stddev / fabs(st.mean);
}
