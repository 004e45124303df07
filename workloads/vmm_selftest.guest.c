/* Guest side of the vmm's own integration tests (tests/integration/test_vmm_*). */
#include "guest/guest.h"
#include "workloads/vmm_selftest.h"

/* The host's reply to the last SYNC, in args[1] of this vCPU's message. */
static uint64_t reply(struct kq_params *p)
{
	return ((volatile struct kq_ucall *)&p->ucall)->args[1];
}

/* Reads the 8 bytes at whatever address the host replies with, reporting
 * each as a "tag" result, until the host replies 0. */
static void probe(struct kq_params *p)
{
	for (;;) {
		kq_sync(1);
		uint64_t gpa = reply(p);
		if (!gpa)
			return;
		__asm__ volatile("invlpg (%0)" ::"r"(gpa) : "memory");
		kq_result_u64("tag", "value", *(volatile uint64_t *)(uintptr_t)gpa);
	}
}
KQ_GUEST_WORKLOAD("vmm.probe", probe);

/* args[0] SYNCs, each expecting the reply stage * 7. */
static void steps(struct kq_params *p)
{
	for (uint64_t i = 1; i <= p->args[0]; i++) {
		kq_sync(i);
		KQ_GUEST_ASSERT(reply(p) == i * 7);
	}
}
KQ_GUEST_WORKLOAD("vmm.steps", steps);

/* Between SYNC 1 and SYNC 2, writes args[3] pages picked with seed args[2]
 * among the args[1] pages at args[0], with a SYNC 3 after every args[4]
 * writes (0: none) so the host can collect on the way. */
static void dirty(struct kq_params *p)
{
	uint64_t x = p->args[2];
	kq_sync(1);
	for (uint64_t i = 0; i < p->args[3]; i++) {
		uint64_t page = kq_vmm_test_rand(&x) % p->args[1];
		*(volatile uint64_t *)(uintptr_t)(p->args[0] + page * 4096 + 8) = i + 1;
		if (p->args[4] && (i + 1) % p->args[4] == 0)
			kq_sync(3);
	}
	kq_sync(2);
}
KQ_GUEST_WORKLOAD("vmm.dirty", dirty);

/* Counts without exits until the host sets the stop word. */
static void count(struct kq_params *p)
{
	volatile uint64_t *mine =
	    (volatile uint64_t *)(uintptr_t)(p->args[0] + p->vcpu * KQ_COUNT_STRIDE);
	volatile uint64_t *stop = (volatile uint64_t *)(uintptr_t)(p->args[0] + KQ_COUNT_STOP);
	while (!*stop)
		(*mine)++;
}
KQ_GUEST_WORKLOAD("vmm.count", count);
