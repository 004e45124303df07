/* Unit tests of core/isostats.c on synthetic data whose answers are known:
 * entropy values from the definition, BER of planted errors, capacity at the
 * two ends (BER 0 gives the bit rate, BER 0.5 gives nothing), Otsu's split of
 * two separated clusters, and slowdown ratios of samples with known
 * percentiles. */
#include "core/isostats.h"
#include "tests/tap.h"

#include <stdlib.h>

int main(void)
{
	is_near(kq_binary_entropy(0), 0, 0, "H(0) = 0");
	is_near(kq_binary_entropy(1), 0, 0, "H(1) = 0");
	is_near(kq_binary_entropy(0.5), 1, 1e-15, "H(0.5) = 1 bit");
	/* H(0.11) = -0.11 log2 0.11 - 0.89 log2 0.89 = 0.499915... */
	is_near(kq_binary_entropy(0.11), 0.49991596, 1e-7, "H(0.11) by hand");
	is_near(kq_binary_entropy(0.25), kq_binary_entropy(0.75), 1e-15, "H symmetric");
	ok(isnan(kq_binary_entropy(-0.1)) && isnan(kq_binary_entropy(1.5)),
	   "H outside [0,1] is NAN");

	uint8_t sent[1000], recv[1000];
	for (int i = 0; i < 1000; i++)
		sent[i] = recv[i] = (uint8_t)((i * 7919) % 3 == 0);
	is_near(kq_bit_error_rate(sent, recv, 1000), 0, 0, "BER of an exact copy = 0");
	for (int i = 0; i < 1000; i += 10)
		recv[i] ^= 1; /* 100 planted errors */
	is_near(kq_bit_error_rate(sent, recv, 1000), 0.1, 1e-15, "BER of 100 flips in 1000 = 0.1");
	for (int i = 0; i < 1000; i++)
		recv[i] = !sent[i];
	is_near(kq_bit_error_rate(sent, recv, 1000), 1, 0, "BER of the complement = 1");
	ok(isnan(kq_bit_error_rate(sent, recv, 0)), "BER of nothing is NAN");

	is_near(kq_channel_capacity(1000, 0), 1000, 0, "BER 0: capacity = bit rate");
	is_near(kq_channel_capacity(1000, 0.5), 0, 0, "BER 0.5: capacity 0");
	ok(!signbit(kq_channel_capacity(1000, 0.5)), "BER 0.5: capacity is +0");
	is_near(kq_channel_capacity(1000, 1), 1000, 0, "BER 1: the inverted channel is perfect");
	is_near(kq_channel_capacity(200, 0.11), 200 * (1 - 0.49991596), 2e-5,
		"BER 0.11 at 200 b/s: about 100 b/s");
	ok(isnan(kq_channel_capacity(-1, 0)) && isnan(kq_channel_capacity(10, 2)),
	   "capacity of bad input is NAN");

	/* Two clusters around 100 and 1000: the split lies between them. */
	double tim[40];
	for (int i = 0; i < 40; i++)
		tim[i] = (i % 2 ? 1000 : 100) + (i % 5);
	double thr = kq_two_cluster_threshold(tim, 40);
	ok(thr > 104 && thr < 1000, "Otsu threshold %.1f separates 100.. and 1000..", thr);
	/* Uneven groups (3 high of 30) are still split between them. */
	for (int i = 0; i < 30; i++)
		tim[i] = i < 3 ? 500 + i : 50 + (i % 4);
	thr = kq_two_cluster_threshold(tim, 30);
	ok(thr > 53 && thr < 500, "Otsu threshold %.1f with 3 of 30 high", thr);
	ok(isnan(kq_two_cluster_threshold(tim, 1)), "threshold of one value is NAN");

	is_near(kq_slowdown_ratio(10, 25), 2.5, 1e-15, "slowdown 25 vs 10 = 2.5");
	ok(isnan(kq_slowdown_ratio(0, 5)), "slowdown against 0 is NAN");
	/* alone: 1..101 (p50 51, p99 100); loaded: twice that (p50 102, p99 200). */
	double alone[101], loaded[101];
	for (int i = 0; i < 101; i++) {
		alone[i] = i + 1;
		loaded[i] = 2 * (101 - i); /* reversed order: percentiles sort first */
	}
	struct kq_slowdown sd;
	ok(kq_slowdown_compute(alone, 101, loaded, 101, &sd) == 0, "slowdown computed");
	is_near(sd.alone_p50, 51, 1e-12, "alone p50 = 51");
	is_near(sd.alone_p99, 100, 1e-12, "alone p99 = 100");
	is_near(sd.loaded_p99, 200, 1e-12, "loaded p99 = 200");
	is_near(sd.ratio_p50, 2, 1e-12, "p50 ratio = 2");
	is_near(sd.ratio_p99, 2, 1e-12, "p99 ratio = 2");
	/* Only the tail grows: 10 of 101 samples at 10x leave p50 alone. */
	for (int i = 0; i < 101; i++)
		loaded[i] = i >= 91 ? 10.0 * (i + 1) : i + 1;
	kq_slowdown_compute(alone, 101, loaded, 101, &sd);
	is_near(sd.ratio_p50, 1, 1e-12, "tail-only load: p50 ratio 1");
	is_near(sd.ratio_p99, 10, 1e-12, "tail-only load: p99 ratio 10");
	ok(kq_slowdown_compute(alone, 0, loaded, 101, &sd) < 0, "empty baseline refused");

	return done_testing();
}
