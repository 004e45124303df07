/* The pointer-chase layout: one cycle through every line (or page) exactly
 * once, the same for the same seed, and working-set lists on a log scale. */
#include "tests/tap.h"
#include "workloads/memory_chain.h"
#include "workloads/memory_host.h"
#include "workloads/memory_kernels.h"

#include <stdlib.h>

/* Follows the chain from its first entry (addresses relative to addr) and
 * checks that it returns to the start after exactly n steps, having visited
 * every stride-sized slot once. */
static int one_cycle(const uint8_t *mem, uint64_t addr, uint64_t bytes, uint64_t stride,
		     uint64_t first, char *why, size_t len)
{
	uint64_t n = bytes / stride, p = first;
	uint8_t *seen = calloc(n, 1);
	if (!seen)
		return 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t slot = (p - addr) / stride;
		if (p < addr || p >= addr + bytes || slot >= n) {
			snprintf(why, len, "step %llu leaves the set", (unsigned long long)i);
			free(seen);
			return 0;
		}
		if (seen[slot]++) {
			snprintf(why, len, "slot %llu visited twice by step %llu",
				 (unsigned long long)slot, (unsigned long long)i);
			free(seen);
			return 0;
		}
		memcpy(&p, mem + (p - addr), sizeof(p));
	}
	free(seen);
	if (p != first) {
		snprintf(why, len, "after %llu steps the chain is not back at its start",
			 (unsigned long long)n);
		return 0;
	}
	return 1;
}

static void chain_case(uint64_t bytes, uint64_t stride, uint64_t seed)
{
	uint8_t *mem = calloc(1, bytes);
	uint64_t addr = 0x100000000ULL; /* as the guest sees its test region */
	char why[128] = "";
	uint64_t first = kq_chain_build(mem, addr, bytes, stride, seed);
	ok(first != 0, "%llu bytes, stride %llu: chain built", (unsigned long long)bytes,
	   (unsigned long long)stride);
	ok(one_cycle(mem, addr, bytes, stride, first, why, sizeof(why)),
	   "%llu bytes, stride %llu, seed %llu: every slot exactly once per cycle %s",
	   (unsigned long long)bytes, (unsigned long long)stride, (unsigned long long)seed, why);
	if (stride == KQ_MEMK_PAGE) {
		/* Page entries sit at a line boundary of their own page, not all at 0. */
		int offsets = 0, aligned = 1;
		for (uint64_t p = first, i = 0; i < bytes / stride; i++) {
			offsets |= (p % stride) != 0;
			aligned &= (p % KQ_MEMK_LINE) == 0;
			memcpy(&p, mem + (p - addr), sizeof(p));
		}
		ok(offsets && aligned, "page chain: entries at varied line offsets in their pages");
	}
	free(mem);
}

int main(void)
{
	uint32_t perm[1000];
	for (uint32_t n = 2; n <= 1000; n += 333) {
		kq_cyclic_perm(perm, n, 7);
		uint32_t i = 0, steps = 0;
		do {
			i = perm[i];
			steps++;
		} while (i != 0 && steps <= n);
		ok(steps == n, "Sattolo permutation of %u is a single cycle (%u steps)", n, steps);
	}
	chain_case(16 << 10, KQ_MEMK_LINE, 1);
	chain_case(4 << 20, KQ_MEMK_LINE, 1);
	chain_case(4 << 20, KQ_MEMK_LINE, 99);
	chain_case(1 << 20, KQ_MEMK_PAGE, 1);

	/* Same seed, same order: the guest and the native run chase alike. */
	uint8_t *a = calloc(1, 1 << 20), *b = calloc(1, 1 << 20), *c = calloc(1, 1 << 20);
	kq_chain_build(a, 0, 1 << 20, KQ_MEMK_LINE, 5);
	kq_chain_build(b, 0, 1 << 20, KQ_MEMK_LINE, 5);
	kq_chain_build(c, 0, 1 << 20, KQ_MEMK_LINE, 6);
	ok(memcmp(a, b, 1 << 20) == 0, "same seed: same chain");
	ok(memcmp(a, c, 1 << 20) != 0, "another seed: another chain");
	/* The chain built for a guest address differs from the native one only by the base. */
	kq_chain_build(b, 0x100000000ULL, 1 << 20, KQ_MEMK_LINE, 5);
	int shifted = 1;
	for (size_t i = 0; i < (1 << 20); i += KQ_MEMK_LINE) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		shifted &= y - x == 0x100000000ULL;
	}
	ok(shifted, "guest and native chains: the same order at another base");
	ok(kq_chain_build(a, 0, 64, KQ_MEMK_LINE, 1) == 0, "a one-line set is refused");
	free(a);
	free(b);
	free(c);

	uint64_t sets[200];
	size_t n = kq_working_sets(16 << 10, 1ULL << 30, 4, sets, 200);
	ok(sets[0] == 16 << 10 && sets[n - 1] == 1ULL << 30, "sets run from 16K to 1G (%zu)", n);
	int per_doubling_ok = 1, increasing = 1;
	for (size_t i = 1; i < n; i++)
		increasing &= sets[i] > sets[i - 1] && sets[i] % 4096 == 0;
	for (uint64_t lo = 1 << 20; lo < (1ULL << 30); lo *= 2) {
		int in = 0;
		for (size_t i = 0; i < n; i++)
			in += sets[i] >= lo && sets[i] < 2 * lo;
		per_doubling_ok &= in >= 4;
	}
	ok(increasing, "sets increase in whole pages");
	ok(per_doubling_ok, "at least 4 sets per power of two from 1M up");
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
