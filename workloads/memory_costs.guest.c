/* Guest side of memory.dirty-log and memory.slots: passes over memory the
 * host names in its answer to each SYNC, until it answers STOP. */
#include "guest/guest.h"
#include "workloads/memory_costs_abi.h"

static void memory_passes(struct kq_params *p)
{
	volatile struct kq_ucall *uc = &p->ucall;
	for (uint64_t pass = 0;; pass++) {
		kq_sync(pass);
		uint64_t op = uc->args[KQ_DJ_OP], base = uc->args[KQ_DJ_BASE],
			 pages = uc->args[KQ_DJ_PAGES], seed = uc->args[KQ_DJ_SEED];
		if (op == KQ_DOP_STOP)
			break;
		if (op == KQ_DOP_READ) {
			/* A wrong tag is the failure, with where it was seen. */
			uint64_t stride = uc->args[KQ_DJ_STRIDE];
			for (uint64_t i = 0; i < pages; i++) {
				volatile uint64_t *w =
				    (volatile uint64_t *)(uintptr_t)(base + i * stride);
				if (*w != kq_slot_tag(seed, i))
					kq_printf("slot %llu: tag 0x%llx at 0x%llx",
						  (unsigned long long)i, (unsigned long long)*w,
						  (unsigned long long)(base + i * stride));
				KQ_GUEST_ASSERT(*w == kq_slot_tag(seed, i));
			}
			continue;
		}
		KQ_GUEST_ASSERT(op == KQ_DOP_ALL || op == KQ_DOP_SPARSE);
		for (uint64_t i = 0; i < pages; i++)
			if (op == KQ_DOP_ALL || kq_dirty_pick(seed, i))
				*(volatile uint64_t *)(uintptr_t)(base + (i << 12)) = seed + i;
	}
}
KQ_GUEST_WORKLOAD("memory.passes", memory_passes);
