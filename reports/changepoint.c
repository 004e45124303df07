#include "reports/changepoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

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

/* The t statistic of segment [i, j) against the rest of x[0..n) (circular
 * binary segmentation: i = 0 or j = n is a single split). For a single split
 * it equals the standardised CUSUM |S_k| / sqrt(k (n - k) / n) divided by the
 * pooled standard deviation within the parts; it does not depend on the
 * noise's location or scale. P and Q are prefix sums of x and x^2. */
static double seg_t(const double *P, const double *Q, size_t n, size_t i, size_t j)
{
	double m = (double)(j - i), r = (double)n - m;
	double si = P[j] - P[i], qi = Q[j] - Q[i];
	double so = P[n] - si, qo = Q[n] - qi;
	double mi = si / m, mo = so / r;
	double ss = (qi - m * mi * mi > 0 ? qi - m * mi * mi : 0) +
		    (qo - r * mo * mo > 0 ? qo - r * mo * mo : 0);
	double var = ss / (double)(n - 2), diff = fabs(mi - mo);
	double scale = fabs(mi) + fabs(mo) + 1e-300; /* rounding leaves ~1e-16 relative */
	if (diff <= 1e-12 * scale)
		return 0;
	if (var <= (1e-12 * scale) * (1e-12 * scale))
		return INFINITY; /* a clean step without noise */
	return diff / sqrt(var * (1 / m + 1 / r));
}

/* The largest t over segments whose inside and outside pieces all hold at
 * least KQ_CP_MIN_SEG runs; *bi, *bj the segment. TMP holds 2 (n + 1). */
static double stat2(const double *x, size_t n, size_t *bi, size_t *bj, double *tmp)
{
	double *P = tmp, *Q = tmp + n + 1, best = 0;
	*bi = *bj = 0;
	if (n < 2 * KQ_CP_MIN_SEG)
		return 0;
	P[0] = Q[0] = 0;
	for (size_t k = 0; k < n; k++) {
		P[k + 1] = P[k] + x[k];
		Q[k + 1] = Q[k] + x[k] * x[k];
	}
	for (size_t i = 0; i + KQ_CP_MIN_SEG <= n; i++) {
		if (i != 0 && i < KQ_CP_MIN_SEG)
			continue;
		for (size_t j = i + KQ_CP_MIN_SEG; j <= n; j++) {
			if ((j != n && n - j < KQ_CP_MIN_SEG) || (i == 0 && j == n))
				continue;
			if (n - (j - i) < KQ_CP_MIN_SEG)
				continue;
			double t = seg_t(P, Q, n, i, j);
			if (t > best) {
				best = t;
				*bi = i;
				*bj = j;
			}
		}
	}
	return best;
}

static double stat(const double *x, size_t n, size_t *at, double *tmp)
{
	size_t i, j;
	double t = stat2(x, n, &i, &j, tmp);
	if (at)
		*at = t > 0 ? (i ? i : j) : 0;
	return t;
}

double kq_cusum_stat(const double *x, size_t n, size_t *at)
{
	double *tmp = malloc(2 * (n + 1) * sizeof(*tmp));
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
	unsigned hits = 0, sims = o->sims;
	/* the statistic costs n^2 / 2: long series get fewer simulations (>= 199) */
	double budget = 4e7 / ((double)n * (double)n / 2);
	if (sims > budget)
		sims = budget > 199 ? (unsigned)budget : 199;
	for (unsigned i = 0; i < sims; i++) {
		for (size_t j = 0; j < n; j++)
			sim[j] = gauss(&s);
		if (stat(sim, n, NULL, tmp) >= t)
			hits++;
	}
	return (hits + 1.0) / (sims + 1.0);
}

struct seg_ctx {
	const struct kq_cp_opts *o;
	double *sim, *tmp, *work;
	struct kq_change *out;
	size_t max, n;
};

static void segment(struct seg_ctx *c, const double *x, size_t lo, size_t hi)
{
	size_t n = hi - lo, i, j;
	double t = stat2(x + lo, n, &i, &j, c->tmp);
	if (t <= 0 || c->n >= c->max)
		return;
	double p = p_value(t, n, c->o, c->sim, c->tmp);
	if (p > c->o->alpha)
		return;
	size_t cuts[2], nc = 0;
	if (i > 0)
		cuts[nc++] = i;
	if (j < n)
		cuts[nc++] = j;
	for (size_t k = 0; k < nc && c->n < c->max; k++) {
		c->out[c->n].at = lo + cuts[k];
		c->out[c->n++].p = p;
	}
	size_t from = lo;
	for (size_t k = 0; k < nc; k++) {
		segment(c, x, from, lo + cuts[k]);
		from = lo + cuts[k];
	}
	segment(c, x, from, hi);
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
	c.tmp = malloc(2 * (n + 1) * sizeof(double));
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
