/* Guest side of the CPUID-policy test: executes CPUID for every leaf the
 * host set and writes down the four registers. */
#include "guest/guest.h"
#include "isolation-tests/cpuid_policy_abi.h"

static void cpuid_policy(struct kq_params *p)
{
	struct kq_cpuid_table *t = (void *)(uintptr_t)p->args[0];
	KQ_GUEST_ASSERT(t->n <= KQ_CPUID_MAX_LEAVES);
	for (uint32_t i = 0; i < t->n; i++)
		kq_cpuid(t->p[i].function, t->p[i].index, t->p[i].r);
	t->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.cpuid", cpuid_policy);
