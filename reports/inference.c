#include "reports/inference.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void kq_rng_seed(struct kq_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t kq_rng_next(struct kq_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

size_t kq_rng_below(struct kq_rng *r, size_t n)
{
	return (size_t)(((unsigned __int128)kq_rng_next(r) * n) >> 64);
}

struct tagged {
	double v;
	int from_a;
};

static int cmp_tagged(const void *pa, const void *pb)
{
	const struct tagged *a = pa, *b = pb;
	return (a->v > b->v) - (a->v < b->v);
}

static int cmp_by_p(const void *a, const void *b, void *ctx)
{
	const double *p = ctx;
	double x = p[*(const size_t *)a], y = p[*(const size_t *)b];
	return (x > y) - (x < y);
}

/* P(U <= u) under H0 for sizes m, n without ties: counts of arrangements by
 * U through the recurrence f(m, n, u) = f(m - 1, n, u - n) + f(m, n - 1, u). */
static int exact_cdf(size_t m, size_t n, double u, double *cdf_le, double *cdf_ge)
{
	size_t umax = m * n;
	/* f[j][u] for the current i; rolling over i from 0..m */
	double *prev = calloc((n + 1) * (umax + 1), sizeof(double));
	double *cur = calloc((n + 1) * (umax + 1), sizeof(double));
	if (!prev || !cur) {
		free(prev);
		free(cur);
		return -1;
	}
#define F(arr, j, uu) (arr)[(j) * (umax + 1) + (uu)]
	/* i = 0: f(0, j, 0) = 1 */
	for (size_t j = 0; j <= n; j++)
		F(prev, j, 0) = 1;
	for (size_t i = 1; i <= m; i++) {
		memset(cur, 0, (n + 1) * (umax + 1) * sizeof(double));
		F(cur, 0, 0) = 1; /* f(i, 0, 0) = 1 */
		for (size_t j = 1; j <= n; j++)
			for (size_t uu = 0; uu <= i * j; uu++) {
				double x = F(cur, j - 1, uu);
				if (uu >= j)
					x += F(prev, j, uu - j);
				F(cur, j, uu) = x;
			}
		double *t = prev;
		prev = cur;
		cur = t;
	}
	double total = 0, le = 0, ge = 0;
	for (size_t uu = 0; uu <= umax; uu++) {
		double c = F(prev, n, uu);
		total += c;
		if ((double)uu <= u + 1e-9)
			le += c;
		if ((double)uu >= u - 1e-9)
			ge += c;
	}
#undef F
	free(prev);
	free(cur);
	*cdf_le = le / total;
	*cdf_ge = ge / total;
	return 0;
}

int kq_mann_whitney(const double *a, size_t na, const double *b, size_t nb, struct kq_mwu *out)
{
	size_t N = na + nb;
	memset(out, 0, sizeof(*out));
	out->p = 1;
	if (!na || !nb)
		return -1;
	struct tagged *t = malloc(N * sizeof(*t));
	if (!t)
		return -1;
	for (size_t i = 0; i < na; i++)
		t[i] = (struct tagged){a[i], 1};
	for (size_t i = 0; i < nb; i++)
		t[na + i] = (struct tagged){b[i], 0};
	qsort(t, N, sizeof(*t), cmp_tagged);

	double r1 = 0, tie_term = 0;
	bool ties = false;
	for (size_t i = 0; i < N;) {
		size_t j = i + 1;
		while (j < N && t[j].v == t[i].v)
			j++;
		double midrank = ((double)(i + 1) + (double)j) / 2.0; /* ranks i+1..j */
		size_t cnt = j - i;
		if (cnt > 1) {
			ties = true;
			tie_term += (double)cnt * cnt * cnt - (double)cnt;
		}
		for (size_t k = i; k < j; k++)
			if (t[k].from_a)
				r1 += midrank;
		i = j;
	}
	free(t);

	double dna = (double)na, dnb = (double)nb, dN = (double)N;
	out->u1 = r1 - dna * (dna + 1) / 2;
	out->u2 = dna * dnb - out->u1;

	if (!ties && N <= KQ_MWU_EXACT_MAX) {
		double le, ge;
		if (exact_cdf(na, nb, out->u1, &le, &ge) != 0)
			return -1;
		out->exact = true;
		out->p = fmin(1.0, 2 * fmin(le, ge));
		return 0;
	}
	double mu = dna * dnb / 2;
	double var = dna * dnb / 12.0 * ((dN + 1) - tie_term / (dN * (dN - 1)));
	if (var <= 0) {
		out->p = 1;
		return 0;
	}
	double z = (fabs(out->u1 - mu) - 0.5) / sqrt(var);
	if (z < 0)
		z = 0;
	out->z = z;
	out->p = fmin(1.0, erfc(z / sqrt(2.0)));
	return 0;
}

/* The median of a resample of sorted data given how often each index was
 * drawn: the mean of the order statistics at (n-1)/2 rounded down and up. */
static double median_from_counts(const double *sorted, const unsigned *counts, size_t n)
{
	size_t k1 = (n - 1) / 2, k2 = n / 2, seen = 0;
	double v1 = 0, v2 = 0;
	bool got1 = false;
	for (size_t i = 0; i < n; i++) {
		seen += counts[i];
		if (!got1 && seen > k1) {
			v1 = sorted[i];
			got1 = true;
		}
		if (seen > k2) {
			v2 = sorted[i];
			break;
		}
	}
	return (v1 + v2) / 2;
}

/* The k-th smallest of v[0..n) (k < n), v partly reordered: Hoare's
 * selection, expected O(n), where sorting every metric's resamples made
 * sorting the largest cost of a comparison. */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		double pivot = v[lo + (hi - lo) / 2];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return v[k];
	}
	return v[k];
}

/* kq_percentile_sorted(sorted v, n, p) without sorting v (no NaN in v). */
static double percentile_select(double *v, size_t n, double p)
{
	if (p <= 0)
		p = 0;
	if (p >= 100)
		p = 100;
	double h = (double)(n - 1) * p / 100.0;
	size_t k = (size_t)floor(h);
	double frac = h - (double)k, x = select_kth(v, n, k);
	if (k + 1 >= n || frac == 0)
		return x;
	/* after the selection everything above index k is >= x: its minimum is next */
	double y = v[k + 1];
	for (size_t i = k + 2; i < n; i++)
		if (v[i] < y)
			y = v[i];
	return x + frac * (y - x);
}

int kq_bootstrap_median_diff(const double *a, size_t na, const double *b, size_t nb, unsigned reps,
			     double level, uint64_t seed, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (!na || !nb || !reps)
		return -1;
	double *sa = malloc(na * sizeof(*sa)), *sb = malloc(nb * sizeof(*sb));
	double *diffs = malloc(reps * sizeof(*diffs));
	unsigned *ca = malloc(na * sizeof(*ca)), *cb = malloc(nb * sizeof(*cb));
	int rc = -1;
	if (!sa || !sb || !diffs || !ca || !cb)
		goto out;
	memcpy(sa, a, na * sizeof(*sa));
	memcpy(sb, b, nb * sizeof(*sb));
	qsort(sa, na, sizeof(*sa), kq_cmp_double);
	qsort(sb, nb, sizeof(*sb), kq_cmp_double);

	/* Drawing indices into the sorted copies is the same as drawing into
	 * the originals after a fixed relabelling; it keeps each resample's
	 * median an O(n) walk over counts. */
	struct kq_rng rng;
	kq_rng_seed(&rng, seed);
	for (unsigned r = 0; r < reps; r++) {
		memset(ca, 0, na * sizeof(*ca));
		memset(cb, 0, nb * sizeof(*cb));
		for (size_t i = 0; i < na; i++)
			ca[kq_rng_below(&rng, na)]++;
		for (size_t i = 0; i < nb; i++)
			cb[kq_rng_below(&rng, nb)]++;
		diffs[r] = median_from_counts(sb, cb, nb) - median_from_counts(sa, ca, na);
		if (isnan(diffs[r])) { /* medians near the limits of a double overflow */
			rc = 0;
			goto out;
		}
	}
	*lo = percentile_select(diffs, reps, 100 * (1 - level) / 2);
	*hi = percentile_select(diffs, reps, 100 * (1 + level) / 2);
	rc = 0;
out:
	free(sa);
	free(sb);
	free(diffs);
	free(ca);
	free(cb);
	return rc;
}

int kq_bh_adjust(const double *p, size_t n, double *q)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	if (!idx)
		return -1;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	/* ascending p: an index sort keeps q beside its metric */
	qsort_r(idx, n, sizeof(*idx), cmp_by_p, (void *)p);
	double run = 1;
	for (size_t r = n; r-- > 0;) {
		double v = p[idx[r]] * (double)n / (double)(r + 1);
		if (v < run)
			run = v;
		q[idx[r]] = run;
	}
	free(idx);
	return 0;
}
