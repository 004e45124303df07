/* What the host and the guest side of memory.dirty-log and memory.slots
 * exchange: the host answers each SYNC in the message's args[]. */
#ifndef KQ_WORKLOADS_MEMORY_COSTS_ABI_H
#define KQ_WORKLOADS_MEMORY_COSTS_ABI_H

#include <stdint.h>

enum { KQ_DJ_OP = 1, KQ_DJ_BASE, KQ_DJ_PAGES, KQ_DJ_SEED, KQ_DJ_STRIDE };

enum kq_dirty_op {
	KQ_DOP_STOP,   /* no more passes: the guest finishes */
	KQ_DOP_ALL,    /* write one word in every page of [base, +pages) */
	KQ_DOP_SPARSE, /* only the pages kq_dirty_pick() chooses */
	KQ_DOP_READ,   /* memory.slots: check the tag at base + i * stride, i < pages */
};

/* About one page in eight, chosen by the seed: the same on both sides. */
static inline int kq_dirty_pick(uint64_t seed, uint64_t page)
{
	uint64_t x = (page + seed) * 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (x & 7) == 0;
}

/* memory.slots: the word at the start of slot `index`. */
static inline uint64_t kq_slot_tag(uint64_t seed, uint64_t index)
{
	return (seed ^ 0x5107ULL) + index * 0x100000001b3ULL;
}

#endif
