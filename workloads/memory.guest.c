/* Guest side of the memory tests. memory.kernels runs the jobs the host hands
 * out one by one (the host builds each working set's chain while the guest
 * waits in the SYNC); memory.first-touch writes never-touched pages. */
#include "guest/guest.h"
#include "workloads/memory_abi.h"
#include "workloads/memory_kernels.h"

static void memory_kernels(struct kq_params *p)
{
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	volatile struct kq_ucall *uc = &p->ucall;
	for (uint64_t job = 0;; job++) {
		kq_sync(job);
		/* The host answered in the SYNC message's arguments. */
		struct kq_memk k = {
		    .kernel = uc->args[KQ_MJ_KERNEL],
		    .base = uc->args[KQ_MJ_BASE],
		    .lines = uc->args[KQ_MJ_LINES],
		    .pos = uc->args[KQ_MJ_POS],
		};
		uint64_t goal = uc->args[KQ_MJ_GOAL], bytes = k.lines * KQ_MEMK_LINE;
		if (k.kernel == KQ_MEMK_NONE)
			break;
		KQ_GUEST_ASSERT(k.base >= p->test_gpa && bytes <= p->test_size);
		uint64_t batch = 0;
		kq_memk_prefault(&k, bytes);
		uint64_t n = kq_memk_measure(&k, goal, samples, KQ_MAX_SAMPLES, &batch);
		kq_samples("memk", "cycles", samples, n, batch);
	}
}
KQ_GUEST_WORKLOAD("memory.kernels", memory_kernels);

/* args: region offset, bytes, stride, pages per batch, then the same for the
 * next region (up to KQ_FT_REGIONS): each region is written once, one word per
 * stride, batches timed; a SYNC between regions lets the host prepare. */
static void first_touch(struct kq_params *p)
{
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	for (int r = 0; r < KQ_FT_REGIONS; r++) {
		uint64_t off = p->args[4 * r], bytes = p->args[4 * r + 1],
			 stride = p->args[4 * r + 2], per = p->args[4 * r + 3];
		if (!bytes)
			break;
		KQ_GUEST_ASSERT(off + bytes <= p->test_size && stride && per);
		kq_sync((uint64_t)r);
		uint64_t pages = bytes / stride, n = 0;
		volatile uint64_t *base = (volatile uint64_t *)(uintptr_t)(p->test_gpa + off);
		for (uint64_t i = 0; i + per <= pages && n < KQ_MAX_SAMPLES; i += per) {
			uint64_t t0 = kq_rdtsc_begin();
			for (uint64_t j = i; j < i + per; j++)
				base[j * stride / 8] = j;
			samples[n++] = kq_rdtsc_end() - t0;
		}
		kq_samples("touch", "cycles", samples, n, per);
	}
}
KQ_GUEST_WORKLOAD("memory.first-touch", first_touch);
