#include "workloads/memory_chain.h"
#include "workloads/memory_kernels.h"

#include <stdlib.h>
#include <string.h>

uint64_t kq_chain_rng(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias. */
static uint32_t below(uint64_t *s, uint32_t bound)
{
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound, r;
	do
		r = kq_chain_rng(s);
	while (r >= limit);
	return (uint32_t)(r % bound);
}

void kq_cyclic_perm(uint32_t *perm, uint32_t n, uint64_t seed)
{
	uint64_t s = seed;
	for (uint32_t i = 0; i < n; i++)
		perm[i] = i;
	/* Sattolo: swapping only with a strictly earlier element yields one cycle. */
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = below(&s, i), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
}

uint64_t kq_chain_build(uint8_t *mem, uint64_t addr, uint64_t bytes, uint64_t stride, uint64_t seed)
{
	uint64_t n = bytes / stride;
	if (n < 2 || n > UINT32_MAX)
		return 0;
	uint32_t *perm = malloc(n * sizeof(*perm));
	if (!perm)
		return 0;
	kq_cyclic_perm(perm, (uint32_t)n, seed);
	/* Within-page line offsets for the page chain, from their own stream. */
	uint64_t s = seed ^ 0x5bd1e995ULL;
	uint64_t lines_per = stride / KQ_MEMK_LINE;
	uint64_t *off = NULL;
	if (lines_per > 1) {
		off = malloc(n * sizeof(*off));
		if (!off) {
			free(perm);
			return 0;
		}
		for (uint64_t i = 0; i < n; i++)
			off[i] = i * stride + (kq_chain_rng(&s) % lines_per) * KQ_MEMK_LINE;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t here = off ? off[i] : i * stride;
		uint64_t next = off ? off[perm[i]] : (uint64_t)perm[i] * stride;
		uint64_t v = addr + next;
		memcpy(mem + here, &v, sizeof(v));
	}
	uint64_t first = addr + (off ? off[0] : 0);
	free(off);
	free(perm);
	return first;
}
