/* Host-side helpers of the memory drivers: the native runs of the shared
 * kernels, the TSC rate for them, working-set lists, and hugepage pools
 * reserved for a test and restored afterwards (also when it is killed). */
#ifndef KQ_WORKLOADS_MEMORY_HOST_H
#define KQ_WORKLOADS_MEMORY_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "core/test.h"
#include "workloads/memory_kernels.h"

/* TSC ticks per millisecond, measured against CLOCK_MONOTONIC over ~20 ms. */
uint64_t kq_tsc_khz_calibrate(void);

/* Runs kernel `kernel` natively over [mem, mem + bytes): builds the chain for
 * the chase kernels (seeded), prefaults, measures. Returns the batch count
 * (samples in cycles, accesses per batch in *batch), or 0 when out of memory. */
uint64_t kq_memk_native(enum kq_memk_kernel kernel, uint8_t *mem, uint64_t bytes, uint64_t seed,
			uint64_t goal_cycles, uint64_t *samples, uint64_t max, uint64_t *batch);

const char *kq_memk_name(enum kq_memk_kernel k);
int kq_memk_parse(const char *s);
/* Bytes between lines of the chain each kernel follows (64, 4096; 0: none). */
uint64_t kq_memk_chain_stride(enum kq_memk_kernel k);

/* Working sets from min to max (bytes, multiples of 4 KiB), `per` points per
 * doubling on a log scale, max always included; returns the count (<= cap). */
size_t kq_working_sets(uint64_t min, uint64_t max, int per, uint64_t *out, size_t cap);
/* min(1 GiB, 25% of MemAvailable), in whole 4 KiB pages. */
uint64_t kq_default_max_set(void);

/* Hugepage pool of one size (2048 or 1048576 kB), raised so `pages` are free;
 * the previous count is restored by kq_hugepages_restore, or by a guardian
 * process when this one dies first. Root only. */
struct kq_hugepages {
	unsigned long kb;
	long previous; /* -1: nothing reserved */
	int guard_fd;  /* write end the guardian waits on */
	int guard_pid;
};
int kq_hugepages_reserve(struct kq_hugepages *h, unsigned long kb, long pages, char *err,
			 size_t errlen);
void kq_hugepages_restore(struct kq_hugepages *h);
/* Free pages in the pool, or -1 when it cannot be read. */
long kq_hugepages_free(unsigned long kb);

#endif
