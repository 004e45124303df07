#include "reports/changepoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/stats.h"

void kq_cp_opts_default(struct kq_cp_opts *o)
{
	o->alpha = KQ_CP_DEFAULT_ALPHA;
	o->sims = KQ_CP_DEFAULT_SIMS;
	o->seed = KQ_CP_DEFAULT_SEED;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return kq_percentile_sorted(v, n, 50);
}

/* sigma from first differences: MAD, or when that is 0 (most differences
 * equal), the mean absolute deviation; 0 only for a constant series. */
static double noise_sigma(const double *x, size_t n, double *tmp)
{
	size_t m = n - 1;
	for (size_t i = 0; i < m; i++)
		tmp[i] = x[i + 1] - x[i];
	double med = median_of(tmp, m), mad, mean = 0;
	for (size_t i = 0; i < m; i++) {
		tmp[i] = fabs(tmp[i] - med);
		mean += tmp[i];
	}
	mad = median_of(tmp, m);
	if (mad > 0)
		return mad / 0.6744897501960817 / M_SQRT2;
	return mean / m * 1.2533141373155001 / M_SQRT2;
}

static double stat(const double *x, size_t n, size_t *at, double *tmp)
{
	if (at)
		*at = 0;
	if (n < 2 * KQ_CP_MIN_SEG)
		return 0;
	double mean = 0, s = 0, best = 0;
	for (size_t i = 0; i < n; i++)
		mean += x[i];
	mean /= (double)n;
	for (size_t k = 1; k < n; k++) {
		s += x[k - 1] - mean;
		if (k >= KQ_CP_MIN_SEG && n - k >= KQ_CP_MIN_SEG && fabs(s) > best) {
			best = fabs(s);
			if (at)
				*at = k;
		}
	}
	double sigma = noise_sigma(x, n, tmp);
	if (!(sigma > 0) || best == 0) {
		if (at)
			*at = 0;
		return 0;
	}
	return best / (sigma * sqrt((double)n));
}

double kq_cusum_stat(const double *x, size_t n, size_t *at)
{
	double *tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp)
		return 0;
	double t = stat(x, n, at, tmp);
	free(tmp);
	return t;
}

/* splitmix64 and Box-Muller: a reproducible Gaussian stream */
static uint64_t next_u64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double gauss(uint64_t *s)
{
	double u1 = ((double)(next_u64(s) >> 11) + 1.0) / 9007199254740993.0;
	double u2 = (double)(next_u64(s) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double p_value(double t, size_t n, const struct kq_cp_opts *o, double *sim, double *tmp)
{
	uint64_t s = o->seed ^ (0x5851f42d4c957f2dULL * n);
	unsigned hits = 0;
	for (unsigned i = 0; i < o->sims; i++) {
		for (size_t j = 0; j < n; j++)
			sim[j] = gauss(&s);
		if (stat(sim, n, NULL, tmp) >= t)
			hits++;
	}
	return (hits + 1.0) / (o->sims + 1.0);
}

struct seg_ctx {
	const struct kq_cp_opts *o;
	double *sim, *tmp, *work;
	struct kq_change *out;
	size_t max, n;
};

static void segment(struct seg_ctx *c, const double *x, size_t lo, size_t hi)
{
	size_t n = hi - lo, at;
	double t = stat(x + lo, n, &at, c->tmp);
	if (t <= 0 || c->n >= c->max)
		return;
	double p = p_value(t, n, c->o, c->sim, c->tmp);
	if (p > c->o->alpha)
		return;
	struct kq_change *ch = &c->out[c->n++];
	ch->at = lo + at;
	ch->p = p;
	segment(c, x, lo, lo + at);
	segment(c, x, lo + at, hi);
}

static int cmp_change(const void *a, const void *b)
{
	size_t x = ((const struct kq_change *)a)->at, y = ((const struct kq_change *)b)->at;
	return x < y ? -1 : x > y;
}

int kq_changepoints(const double *x, size_t n, const struct kq_cp_opts *o, struct kq_change *out,
		    size_t max)
{
	struct seg_ctx c = {.o = o, .out = out, .max = max};
	if (n < 2 * KQ_CP_MIN_SEG || !max)
		return 0;
	c.sim = malloc(n * sizeof(double));
	c.tmp = malloc(n * sizeof(double));
	c.work = malloc(n * sizeof(double));
	if (!c.sim || !c.tmp || !c.work) {
		free(c.sim);
		free(c.tmp);
		free(c.work);
		return -1;
	}
	segment(&c, x, 0, n);
	qsort(out, c.n, sizeof(*out), cmp_change);
	/* the medians of the segments on each side, between neighbouring changes */
	for (size_t i = 0; i < c.n; i++) {
		size_t a = i ? out[i - 1].at : 0, m = out[i].at,
		       b = i + 1 < c.n ? out[i + 1].at : n;
		memcpy(c.work, x + a, (m - a) * sizeof(double));
		out[i].before = median_of(c.work, m - a);
		memcpy(c.work, x + m, (b - m) * sizeof(double));
		out[i].after = median_of(c.work, b - m);
	}
	free(c.sim);
	free(c.tmp);
	free(c.work);
	return (int)c.n;
}
