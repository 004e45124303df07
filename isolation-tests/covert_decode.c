#include "isolation-tests/covert_decode.h"
#include "core/isostats.h"
#include "core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Median of the passes inside slot i (after its first quarter); NAN if none. */
static double slot_value(const uint64_t *passes, uint64_t npasses, uint64_t lo, uint64_t hi,
			 double *buf)
{
	size_t n = 0;
	for (uint64_t k = 0; k < npasses; k++) {
		uint64_t t = passes[2 * k], d = passes[2 * k + 1];
		if (t >= lo && t + d <= hi)
			buf[n++] = (double)d;
	}
	if (!n)
		return NAN;
	qsort(buf, n, sizeof(*buf), kq_cmp_double);
	return n % 2 ? buf[n / 2] : (buf[n / 2 - 1] + buf[n / 2]) / 2;
}

static double log_of(double v)
{
	return log(v > 1 ? v : 1);
}

long isob_covert_decode(const uint64_t *passes, uint64_t npasses, uint64_t t0, uint64_t slot,
			uint64_t nbits, uint8_t *rx, double *threshold)
{
	double *val = calloc(nbits + 1, sizeof(*val)), *got = calloc(nbits + 1, sizeof(*got));
	double *buf = malloc((npasses + 1) * sizeof(*buf));
	long missing = -1;
	*threshold = 0;
	if (!val || !got || !buf)
		goto out;
	missing = 0;
	size_t ngot = 0;
	for (uint64_t i = 0; i < nbits; i++) {
		uint64_t lo = t0 + i * slot + slot / 4, hi = t0 + (i + 1) * slot;
		val[i] = slot_value(passes, npasses, lo, hi, buf);
		if (isnan(val[i]))
			missing++;
		else
			got[ngot++] = log_of(val[i]);
	}
	/* Otsu on logarithms: a slot slowed by a host interrupt does not pull
	 * the split to itself. */
	double thr = kq_two_cluster_threshold(got, ngot);
	for (uint64_t i = 0; i < nbits; i++)
		rx[i] = !isnan(val[i]) && !isnan(thr) && log_of(val[i]) > thr;
	*threshold = isnan(thr) ? 0 : exp(thr);
out:
	free(val);
	free(got);
	free(buf);
	return missing;
}
