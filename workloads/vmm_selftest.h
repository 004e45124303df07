/* Shared by the vmm's integration tests and their guest side
 * (vmm_selftest.guest.c): the page picker both sides run, so the host knows
 * which pages the guest dirtied without being told. */
#ifndef KQ_WORKLOADS_VMM_SELFTEST_H
#define KQ_WORKLOADS_VMM_SELFTEST_H

#include <stdint.h>

/* xorshift64*: a seeded sequence, identical in guest and host. */
static inline uint64_t kq_vmm_test_rand(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

/* vmm.count: vCPU i counts at base + i * KQ_COUNT_STRIDE until the word at
 * base + KQ_COUNT_STOP is non-zero. */
#define KQ_COUNT_STRIDE 64
#define KQ_COUNT_STOP	4096

#endif
