/* The pointer-chase layout: a random cyclic permutation of a working set's
 * lines (or pages), built from a seed so the guest and the native run chase
 * the same order. Each visited line's first word holds the address of the
 * next one, as the runner sees it (guest physical or host virtual). */
#ifndef KQ_WORKLOADS_MEMORY_CHAIN_H
#define KQ_WORKLOADS_MEMORY_CHAIN_H

#include <stdint.h>

/* A seeded generator (splitmix64): the same seed gives the same sequence. */
uint64_t kq_chain_rng(uint64_t *state);

/* Fills perm[0..n) with a single cycle through all n elements (Sattolo's
 * algorithm): following i -> perm[i] from any start visits every element
 * exactly once before returning. */
void kq_cyclic_perm(uint32_t *perm, uint32_t n, uint64_t seed);

/* Writes the chain into mem (bytes long, seen by the runner at address
 * `addr`): with stride 64 one entry per cache line; with stride 4096 one
 * entry per page, at a line inside the page chosen from the seed (so the
 * pages' entries do not all fall into one cache set). Returns the address of
 * the first entry, or 0 when out of memory or the set holds fewer than two
 * entries. */
uint64_t kq_chain_build(uint8_t *mem, uint64_t addr, uint64_t bytes, uint64_t stride,
			uint64_t seed);

#endif
