/* The covert-channel decoder on synthetic receiver passes with known bits:
 * a clear channel decodes without error (capacity = bit rate), passes that
 * carry nothing give a BER near 0.5 (capacity near 0), passes straddling a
 * slot's end or in its first quarter are left out, empty slots are counted
 * and read as 0. Proves the measurement can see a channel where one exists,
 * which the emulated host (no caches) cannot show. */
#include "core/isostats.h"
#include "isolation-tests/covert_decode.h"
#include "tests/tap.h"

#include <stdbool.h>
#include <stdlib.h>

#define NB   256
#define SLOT 100000ULL
#define T0   5000000ULL

static uint64_t rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 10 passes per slot from a quarter slot before T0; each pass's duration
 * from dur(bit of its slot). */
static uint64_t passes_for(const uint8_t *bits, uint64_t *out, uint64_t *seed, int clear)
{
	uint64_t n = 0;
	for (uint64_t t = T0 - SLOT / 4; t < T0 + NB * SLOT; t += SLOT / 10) {
		uint64_t slot = t < T0 ? 0 : (t - T0) / SLOT;
		uint64_t noise = rng(seed) % 2000;
		uint64_t d = clear ? (bits[slot < NB ? slot : 0] ? 9000 : 3000) + noise
				   : 3000 + rng(seed) % 6000;
		out[2 * n] = t;
		out[2 * n + 1] = d;
		n++;
	}
	return n;
}

int main(void)
{
	static uint8_t bits[NB], rx[NB];
	static uint64_t passes[2 * 4096];
	uint64_t seed = 42;
	for (int i = 0; i < NB; i++)
		bits[i] = (uint8_t)(rng(&seed) >> 63);
	double thr;

	uint64_t n = passes_for(bits, passes, &seed, 1);
	long missing = isob_covert_decode(passes, n, T0, SLOT, NB, rx, &thr);
	is_int(missing, 0, "clear channel: every slot has passes");
	double ber = kq_bit_error_rate(bits, rx, NB);
	is_near(ber, 0, 0, "clear channel: BER 0");
	is_near(kq_channel_capacity(250, ber), 250, 0, "clear channel: capacity = bit rate");
	ok(thr > 5000 && thr < 9000, "threshold %.0f cycles between 3000.. and 9000..", thr);

	n = passes_for(bits, passes, &seed, 0);
	isob_covert_decode(passes, n, T0, SLOT, NB, rx, &thr);
	ber = kq_bit_error_rate(bits, rx, NB);
	ok(ber > 0.38 && ber < 0.62, "no channel: BER %.3f near 0.5", ber);
	ok(kq_channel_capacity(250, ber) < 0.1 * 250, "no channel: capacity %.2f under 10%% of 250",
	   kq_channel_capacity(250, ber));

	/* Two 0 slots in a row: every pass of the first runs past its end (slow),
	 * and the second keeps only its first quarter's passes, made slow, and
	 * one ordinary pass. Counted, the slow ones would read as 1s. */
	n = passes_for(bits, passes, &seed, 1);
	int zero = -1;
	for (int i = 0; i + 1 < NB && zero < 0; i++)
		if (!bits[i] && !bits[i + 1])
			zero = i;
	ok(zero >= 0, "the bits hold two 0s in a row (slot %d)", zero);
	uint64_t s0 = T0 + (uint64_t)zero * SLOT, s1 = s0 + SLOT, m = 0;
	bool kept_one = false;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t t = passes[2 * k], d = passes[2 * k + 1];
		if (t >= s0 && t < s1)
			d = s1 - t + 1000; /* ends in the next slot */
		else if (t >= s1 && t < s1 + SLOT / 4)
			d = 50000; /* inside the sender's switch */
		else if (t >= s1 + SLOT / 4 && t < s1 + SLOT) {
			if (kept_one || t + d > s1 + SLOT)
				continue;
			kept_one = true;
		}
		passes[2 * m] = t;
		passes[2 * m + 1] = d;
		m++;
	}
	missing = isob_covert_decode(passes, m, T0, SLOT, NB, rx, &thr);
	is_int(missing, 1, "a slot whose passes all run past its end has none counted");
	ok(rx[zero] == 0 && rx[zero + 1] == 0,
	   "slow passes across a slot's end and in its first quarter are left out");
	is_near(kq_bit_error_rate(bits, rx, NB), 0, 0, "and the BER stays 0");

	/* The last 16 slots get no passes: counted, read as 0. */
	n = passes_for(bits, passes, &seed, 1);
	uint64_t kept = 0;
	for (uint64_t k = 0; k < n; k++)
		if (passes[2 * k] < T0 + (NB - 16) * SLOT)
			kept++;
	missing = isob_covert_decode(passes, kept, T0, SLOT, NB, rx, &thr);
	is_int(missing, 16, "16 slots without passes are counted");
	int zeros = 0;
	for (int i = NB - 16; i < NB; i++)
		zeros += rx[i] == 0;
	is_int(zeros, 16, "and read as 0");
	return done_testing();
}
