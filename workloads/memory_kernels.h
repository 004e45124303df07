/* Memory kernels shared by the guest and the host: one object file, compiled
 * with the guest's freestanding flags (workloads/memory_kernels.both.c), is
 * linked into both the guest image and the host binary, so the guest and the
 * native runs execute the very same bytes. Fixed-width types only: this
 * header is read by the freestanding guest too. */
#ifndef KQ_WORKLOADS_MEMORY_KERNELS_H
#define KQ_WORKLOADS_MEMORY_KERNELS_H

#include <stdint.h>

enum kq_memk_kernel {
	KQ_MEMK_NONE = 0,
	KQ_MEMK_CHASE,	  /* dependent loads over a cyclic permutation of cache lines */
	KQ_MEMK_READ,	  /* streaming read, one 64-byte line per access */
	KQ_MEMK_WRITE,	  /* streaming write, one 64-byte line per access */
	KQ_MEMK_RANDPAGE, /* dependent loads, one per 4 KiB page in random page order */
	KQ_MEMK_COUNT
};

#define KQ_MEMK_LINE 64ULL
#define KQ_MEMK_PAGE 4096ULL

/* The state of one measured kernel; addresses are the runner's own (guest
 * physical in the guest, host virtual natively). */
struct kq_memk {
	uint64_t kernel; /* enum kq_memk_kernel */
	uint64_t base;	 /* first byte of the working set */
	uint64_t lines;	 /* 64-byte lines in the working set (stream kernels) */
	uint64_t pos;	 /* chase: the current pointer; stream: the next line */
	uint64_t sink;	 /* what the read kernel sums, so no load is dead */
};

/* Runs n accesses of k's kernel, continuing where the last call stopped. */
void kq_memk_run(struct kq_memk *k, uint64_t n);
/* Reads one word of every 4 KiB page of [base, base + bytes): faults the set
 * in before measuring (the measurement's own warm-up warms the caches). */
void kq_memk_prefault(struct kq_memk *k, uint64_t bytes);
/* Adaptive measurement as kq_measure does it (the batch doubles until it lasts
 * goal/32 cycles, then batches are recorded until goal cycles are spent, at
 * least 8 and at most max), with serialised TSC reads. Writes per-batch cycle
 * totals to samples, the accesses per batch to *batch; returns the count. */
uint64_t kq_memk_measure(struct kq_memk *k, uint64_t goal_cycles, uint64_t *samples, uint64_t max,
			 uint64_t *batch);

/* The kernels' code lies in this section, in both binaries. */
extern const uint8_t __start_kq_memk[], __stop_kq_memk[];

#endif
