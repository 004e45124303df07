/* Workloads that exercise the runtime's failure paths for the integration
 * tests: each one must reach the host as a precise failure. */
#include "guest/guest.h"

static void boot(struct kq_params *p)
{
	kq_result_u64("vcpu", "index", p->vcpu);
	kq_printf("hello from vCPU %u of %u", p->vcpu, p->nr_vcpus);
}
KQ_GUEST_WORKLOAD("selftest.boot", boot);

static void triple_fault(struct kq_params *p)
{
	/* An empty IDT turns the #UD into #DF, then a shutdown (triple fault). */
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = {0, 0};
	__asm__ volatile("lidt %0; ud2" ::"m"(idtr));
}
KQ_GUEST_WORKLOAD("selftest.triple-fault", triple_fault);

static void hang(struct kq_params *p)
{
	for (;;)
		kq_pause();
}
KQ_GUEST_WORKLOAD("selftest.hang", hang);

static void exception(struct kq_params *p)
{
	__asm__ volatile("ud2");
}
KQ_GUEST_WORKLOAD("selftest.exception", exception);

static void assert_fails(struct kq_params *p)
{
	KQ_GUEST_ASSERT(p->nr_vcpus == 0);
}
KQ_GUEST_WORKLOAD("selftest.assert", assert_fails);

static void touch_memory(struct kq_params *p)
{
	volatile uint64_t *m = (volatile uint64_t *)(uintptr_t)p->test_gpa;
	uint64_t pages = p->test_size / 4096;
	for (uint64_t i = 0; i < pages; i++)
		m[i * 512] = i ^ 0x5a5a5a5a;
	for (uint64_t i = 0; i < pages; i++)
		KQ_GUEST_ASSERT(m[i * 512] == (i ^ 0x5a5a5a5a));
	kq_result_u64("pages", "count", pages);
}
KQ_GUEST_WORKLOAD("selftest.touch", touch_memory);
