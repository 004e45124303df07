/* iso.ksm: fills its pages (the first half with content every tenant shares,
 * the second with content of its own), waits while the host lets ksmd merge,
 * then on GO times one write to each page, shared and own pages interleaved. */
#include "isolation-tests/isob_guest.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

static void iso_ksm(struct kq_params *p)
{
	uint64_t pages = p->args[ISOB_KSM_ARG_PAGES], half = pages / 2;
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	KQ_GUEST_ASSERT(pages <= KQ_MAX_SAMPLES && pages * 4096 <= p->test_size);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t seed =
		    i < half ? p->args[ISOB_KSM_ARG_SHARED] : p->args[ISOB_KSM_ARG_PRIVATE];
		uint64_t *pg = (uint64_t *)(uintptr_t)(p->test_gpa + i * 4096);
		for (int w = 0; w < 512; w++)
			pg[w] = mix(seed ^ (i << 12) ^ (uint64_t)w);
	}
	if (isob_wait_cmd(1) == ISOB_CMD_GO) {
		/* samples[2k]: shared page k, samples[2k+1]: own page half + k. */
		for (uint64_t k = 0; k < half; k++)
			for (uint64_t s = 0; s < 2; s++) {
				volatile uint64_t *w =
				    (volatile uint64_t *)(uintptr_t)(p->test_gpa +
								     (s * half + k) * 4096 +
								     8 * (k % 512));
				uint64_t t0 = kq_rdtsc_begin();
				*w = *w + 1;
				samples[2 * k + s] = kq_rdtsc_end() - t0;
			}
		kq_samples("write", "cycles", samples, 2 * half, 1);
		isob_wait_cmd(2);
	}
	kq_done();
}
KQ_GUEST_WORKLOAD("iso.ksm", iso_ksm);
