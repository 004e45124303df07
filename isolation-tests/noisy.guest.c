/* iso.victim: a pointer chase timed in samples of `per` dependent loads,
 * one measurement each time the host answers GO. iso.aggressor: after one
 * SYNC, streams writes over its memory, floods CPUID exits, or takes
 * split locks (a locked add on a 4-byte word across two cache lines), until
 * the host stops it. */
#include "isolation-tests/isob_guest.h"
#include "workloads/memory_kernels.h"

static void iso_victim(struct kq_params *p)
{
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	uint64_t per = p->args[ISOB_VIC_ARG_PER], ns = p->args[ISOB_VIC_ARG_NS];
	struct kq_memk k = {.kernel = KQ_MEMK_CHASE, .pos = p->args[ISOB_VIC_ARG_CHAIN]};
	KQ_GUEST_ASSERT(ns <= KQ_MAX_SAMPLES && per);
	for (uint64_t stage = 0; isob_wait_cmd(stage) == ISOB_CMD_GO; stage++) {
		kq_memk_run(&k, per * 16); /* warm-up */
		for (uint64_t i = 0; i < ns; i++) {
			uint64_t t0 = kq_rdtsc_begin();
			kq_memk_run(&k, per);
			samples[i] = kq_rdtsc_end() - t0;
		}
		kq_samples("chase", "cycles", samples, ns, per);
	}
	kq_done();
}
KQ_GUEST_WORKLOAD("iso.victim", iso_victim);

static void iso_aggressor(struct kq_params *p)
{
	uint64_t mode = p->args[ISOB_AGG_ARG_MODE];
	kq_sync(0);
	if (mode == ISOB_AGG_STREAM) {
		volatile uint64_t *buf = (volatile uint64_t *)(uintptr_t)p->test_gpa;
		uint64_t words = p->args[ISOB_AGG_ARG_BYTES] / 8;
		for (;;)
			for (uint64_t i = 0; i < words; i += 8)
				buf[i] = i;
	} else if (mode == ISOB_AGG_EXITS) {
		uint32_t r[4];
		for (;;)
			kq_cpuid(0, 0, r);
	} else if (mode == ISOB_AGG_SPLITLOCK) {
		/* 4 bytes starting 2 bytes before a line boundary. */
		volatile uint32_t *w = (volatile uint32_t *)(uintptr_t)(p->test_gpa + 64 - 2);
		for (;;)
			__asm__ volatile("lock addl $1, %0" : "+m"(*w));
	}
	KQ_GUEST_ASSERT(!"unknown aggressor mode");
}
KQ_GUEST_WORKLOAD("iso.aggressor", iso_aggressor);
