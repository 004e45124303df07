/* Guest side of the state save/restore test (tests/integration/
 * test_vmm_state.c): a computation in stages over general registers, test
 * memory and MSRs, with a SYNC ucall after each stage at which the host may
 * save the VM and continue it in another. Each stage checks that what the
 * previous one left in MSRs and in registers held across the exit survived.
 *
 * args[0]: stages, args[1]: 64-bit words of test memory per vCPU.
 * Result "vmm.state" = the final accumulator (tests/integration computes the
 * same value on the host). */
#include "guest/guest.h"

#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_TSC_AUX	   0xc0000103u

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* splitmix64's finaliser; the host has the same (keep in step). */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* SYNC with the accumulator held in r12-r15 across the exit, checked after. */
static void sync_holding(struct kq_params *p, uint64_t stage, uint64_t acc)
{
	struct kq_ucall *uc = &p->ucall;
	memset(uc, 0, sizeof(*uc));
	uc->kind = KQ_UC_SYNC;
	uc->vcpu = p->vcpu;
	uc->args[0] = stage;
	uc->args[1] = acc;
	uint64_t a = acc, b = ~acc, c = mix(acc), d = stage;
	__asm__ volatile("mov %[a], %%r12\n\t"
			 "mov %[b], %%r13\n\t"
			 "mov %[c], %%r14\n\t"
			 "mov %[d], %%r15\n\t"
			 "outl %%eax, %%dx\n\t"
			 "mov %%r12, %[a]\n\t"
			 "mov %%r13, %[b]\n\t"
			 "mov %%r14, %[c]\n\t"
			 "mov %%r15, %[d]"
			 : [a] "+r"(a), [b] "+r"(b), [c] "+r"(c), [d] "+r"(d)
			 : "a"((uint32_t)(uintptr_t)uc), "d"((uint16_t)KQ_UCALL_PORT)
			 : "r12", "r13", "r14", "r15", "memory");
	KQ_GUEST_ASSERT(a == acc && b == ~acc && c == mix(acc) && d == stage);
}

static int have_tsc_aux(void)
{
	uint32_t r[4];
	kq_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		kq_cpuid(0x80000001, 0, r);
		if (r[3] & (1u << 27)) /* RDTSCP */
			return 1;
	}
	kq_cpuid(0, 0, r);
	if (r[0] >= 7) {
		kq_cpuid(7, 0, r);
		if (r[2] & (1u << 22)) /* RDPID */
			return 1;
	}
	return 0;
}

static void vmm_state(struct kq_params *p)
{
	uint64_t stages = p->args[0], words = p->args[1];
	KQ_GUEST_ASSERT(stages > 0 && words > 0);
	KQ_GUEST_ASSERT(p->test_size >= (p->vcpu + 1) * words * 8);
	volatile uint64_t *buf = (volatile uint64_t *)(p->test_gpa + p->vcpu * words * 8);
	int aux = have_tsc_aux();
	uint64_t acc = mix(0x243f6a8885a308d3ULL + p->vcpu);
	for (uint64_t i = 0; i < words; i++)
		buf[i] = mix(acc + i);
	for (uint64_t s = 1; s <= stages; s++) {
		for (uint64_t i = 0; i < words; i++) {
			buf[i] = mix(buf[i] ^ acc ^ i);
			acc = mix(acc + buf[i]);
		}
		wrmsr(MSR_KERNEL_GS_BASE, mix(acc ^ s) & 0x00007fffffffffffULL);
		if (aux)
			wrmsr(MSR_TSC_AUX, (uint32_t)mix(acc + s));
		sync_holding(p, s, acc);
		KQ_GUEST_ASSERT(rdmsr(MSR_KERNEL_GS_BASE) ==
				(mix(acc ^ s) & 0x00007fffffffffffULL));
		if (aux)
			KQ_GUEST_ASSERT(rdmsr(MSR_TSC_AUX) == (uint32_t)mix(acc + s));
		acc = mix(acc ^ rdmsr(MSR_KERNEL_GS_BASE));
	}
	kq_result_u64("vmm.state", "hash", acc);
	kq_result_u64("vmm.state.tsc_aux", "bool", (uint64_t)aux);
	kq_done();
}
KQ_GUEST_WORKLOAD("vmm.state", vmm_state);
