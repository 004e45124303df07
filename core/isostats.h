/* Statistics of the isolation measurements: bit error rate of a covert
 * channel, binary entropy, Shannon capacity of a binary symmetric channel,
 * and slowdown ratios of a victim's latency percentiles. Shared by the
 * isolation drivers and the reports (core/ sits below both). */
#ifndef KQ_CORE_ISOSTATS_H
#define KQ_CORE_ISOSTATS_H

#include <stddef.h>
#include <stdint.h>

/* H(p) = -p log2 p - (1-p) log2 (1-p), in bits; 0 at p = 0 and p = 1.
 * p outside [0, 1] gives NAN. */
double kq_binary_entropy(double p);

/* Fraction of positions where sent[i] != received[i] (bits as 0/1 bytes);
 * n == 0 gives NAN. */
double kq_bit_error_rate(const uint8_t *sent, const uint8_t *received, size_t n);

/* Capacity of a binary symmetric channel used at bitrate bits/s with this
 * error rate: bitrate * (1 - H(ber)). A BER above 0.5 is as good as its
 * complement (a receiver can invert every bit), so H is symmetric and that is
 * what the formula gives. NAN when ber is outside [0, 1] or bitrate < 0. */
double kq_channel_capacity(double bitrate_bps, double ber);

/* The threshold that best separates two groups of timings: sorts a copy of
 * v and returns the midpoint between the two cluster means of the split that
 * minimises the within-group variance (Otsu). Used by the covert-channel
 * receiver when it does not know the sent bits. n < 2 gives NAN. */
double kq_two_cluster_threshold(const double *v, size_t n);

/* Slowdown of a victim under load against alone: loaded / alone, for any
 * percentile. alone <= 0 gives NAN. */
double kq_slowdown_ratio(double alone, double loaded);

/* The p50 and p99 (linear interpolation, as core/stats.c) of samples and
 * their slowdown against a baseline sample set. Returns -1 on an empty set
 * or allocation failure. */
struct kq_slowdown {
	double alone_p50, alone_p99, loaded_p50, loaded_p99;
	double ratio_p50, ratio_p99;
};
int kq_slowdown_compute(const double *alone, size_t nalone, const double *loaded, size_t nloaded,
			struct kq_slowdown *out);

#endif
