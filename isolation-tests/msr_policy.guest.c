/* Guest side of the MSR-policy tests: RDMSR of every index the host lists;
 * a #GP is caught, noted and stepped over. */
#include "guest/guest.h"
#include "isolation-tests/msr_policy_abi.h"

static volatile int gp_seen;

static int on_gp(struct kq_isr_frame *f)
{
	const uint8_t *ip = (const uint8_t *)(uintptr_t)f->rip;
	if (ip[0] != 0x0f || ip[1] != 0x32)
		return 0; /* not our RDMSR: report it as unexpected */
	gp_seen = 1;
	f->rip += 2;
	return 1;
}

static void msr_read(struct kq_params *p)
{
	volatile struct kq_msr_table *t = (void *)(uintptr_t)p->args[0];
	KQ_GUEST_ASSERT(t->n <= KQ_MSR_MAX);
	kq_set_isr_handler(13, on_gp);
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t lo = 0, hi = 0;
		t->current = i;
		gp_seen = 0;
		__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(t->p[i].index) : "memory");
		t->p[i].gp = gp_seen;
		t->p[i].value = gp_seen ? 0 : (uint64_t)hi << 32 | lo;
	}
	t->current = ~0ULL;
	kq_set_isr_handler(13, 0);
	t->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.msr-read", msr_read);
