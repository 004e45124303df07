/* What the migration workloads' guest side and host side agree on: the
 * argument slots and the control page at the start of the test region.
 * Fixed-width types only (included by the freestanding guest). */
#ifndef KQ_MIG_GUEST_ABI_H
#define KQ_MIG_GUEST_ABI_H

#include <stdint.h>

#define KQ_MIG_WORKLOAD "migration"

/* args[] of the guest workload. */
enum {
	KQ_MIG_ARG_MODE = 0,	/* enum kq_mig_mode */
	KQ_MIG_ARG_RATE = 1,	/* pages written per second; 0: as fast as it can */
	KQ_MIG_ARG_PATTERN = 2, /* enum kq_mig_pattern */
	KQ_MIG_ARG_HOT = 3,	/* pages of the hot set */
	KQ_MIG_ARG_PAGES = 4,	/* pages of the working set (after the control page) */
};
enum kq_mig_mode { KQ_MIG_IDLE = 0, KQ_MIG_DIRTY = 1, KQ_MIG_VERIFY = 2 };
enum kq_mig_pattern { KQ_MIG_SEQ = 0, KQ_MIG_RANDOM = 1, KQ_MIG_HOTSET = 2 };

/* Page 0 of the test region; the working set follows it. The host sets
 * `stop`; vCPU 0 runs the workload, vCPU 1 the heartbeat. */
struct kq_mig_ctl {
	volatile uint64_t stop;
	volatile uint64_t started; /* vCPUs that reached their loop */
	volatile uint64_t writes;  /* pages written by the workload so far */
	volatile uint64_t beats;   /* heartbeat iterations */
};

/* The verifier's per-page words: counter at word 0, this at words 1 and 511,
 * so a page that travelled stale or half-written shows. */
static inline uint64_t kq_mig_pattern(uint64_t page, uint64_t counter)
{
	return (page + 1) * 0x9e3779b97f4a7c15ULL ^ (counter << 17 | counter >> 47);
}

#endif
