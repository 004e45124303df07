#include "core/isostats.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double kq_binary_entropy(double p)
{
	if (!(p >= 0 && p <= 1))
		return NAN;
	if (p == 0 || p == 1)
		return 0;
	return -p * log2(p) - (1 - p) * log2(1 - p);
}

double kq_bit_error_rate(const uint8_t *sent, const uint8_t *received, size_t n)
{
	if (n == 0)
		return NAN;
	size_t wrong = 0;
	for (size_t i = 0; i < n; i++)
		wrong += (sent[i] != 0) != (received[i] != 0);
	return (double)wrong / (double)n;
}

double kq_channel_capacity(double bitrate_bps, double ber)
{
	double h = kq_binary_entropy(ber);
	if (isnan(h) || !(bitrate_bps >= 0))
		return NAN;
	double c = bitrate_bps * (1 - h);
	return c < 0 ? 0 : c; /* rounding at ber = 0.5 must not give -0.0 or -1e-17 */
}

double kq_two_cluster_threshold(const double *v, size_t n)
{
	if (n < 2)
		return NAN;
	double *s = malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), kq_cmp_double);
	double total = 0;
	for (size_t i = 0; i < n; i++)
		total += s[i];
	/* Otsu: maximise the between-group variance w0 w1 (m0 - m1)^2 over the
	 * split after index k, which minimises the within-group variance. */
	double best = -1, thr = (s[0] + s[n - 1]) / 2, left = 0;
	for (size_t k = 0; k + 1 < n; k++) {
		left += s[k];
		if (s[k] == s[k + 1])
			continue;
		double w0 = (double)(k + 1), w1 = (double)(n - k - 1);
		double m0 = left / w0, m1 = (total - left) / w1;
		double between = w0 * w1 * (m0 - m1) * (m0 - m1);
		if (between > best) {
			best = between;
			thr = (s[k] + s[k + 1]) / 2;
		}
	}
	free(s);
	return thr;
}

double kq_slowdown_ratio(double alone, double loaded)
{
	if (!(alone > 0))
		return NAN;
	return loaded / alone;
}

static int p50_p99(const double *v, size_t n, double *p50, double *p99)
{
	struct kq_stats st;
	if (n == 0 || kq_stats_compute(v, n, &st) != 0)
		return -1;
	*p50 = st.median;
	*p99 = st.p99;
	return 0;
}

int kq_slowdown_compute(const double *alone, size_t nalone, const double *loaded, size_t nloaded,
			struct kq_slowdown *out)
{
	memset(out, 0, sizeof(*out));
	if (p50_p99(alone, nalone, &out->alone_p50, &out->alone_p99) < 0 ||
	    p50_p99(loaded, nloaded, &out->loaded_p50, &out->loaded_p99) < 0)
		return -1;
	out->ratio_p50 = kq_slowdown_ratio(out->alone_p50, out->loaded_p50);
	out->ratio_p99 = kq_slowdown_ratio(out->alone_p99, out->loaded_p99);
	return 0;
}
