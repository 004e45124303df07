/* Guest helpers for the exit benchmarks: MSR access and the local APIC in
 * xAPIC (MMIO at KQ_LAPIC_GPA) or x2APIC (MSR) mode. Freestanding: included
 * by *.guest.c files only. The numbers shared with the host drivers (vectors,
 * MSR indices, ports) live in workloads/exit_abi.h. */
#ifndef KQ_WORKLOADS_EXIT_LAPIC_H
#define KQ_WORKLOADS_EXIT_LAPIC_H

#include "guest/guest.h"
#include "workloads/exit_abi.h"

#define KQ_MSR_APIC_BASE    0x1b
#define KQ_MSR_TSC_DEADLINE 0x6e0
#define KQ_MSR_X2APIC_FIRST 0x800 /* x2APIC register r is MSR 0x800 + r / 16 */

#define KQ_APIC_BASE_EXTD (1ULL << 10) /* x2APIC mode */
#define KQ_APIC_BASE_EN	  (1ULL << 11)

/* xAPIC register offsets. */
#define KQ_APIC_ID    0x20
#define KQ_APIC_VER   0x30
#define KQ_APIC_TPR   0x80
#define KQ_APIC_EOI   0xb0
#define KQ_APIC_SVR   0xf0
#define KQ_APIC_ICR   0x300
#define KQ_APIC_ICR2  0x310
#define KQ_APIC_LVTT  0x320
#define KQ_APIC_TMICT 0x380
#define KQ_APIC_TMCCT 0x390

#define KQ_APIC_SVR_ENABLE	 (1u << 8)
#define KQ_APIC_LVT_MASKED	 (1u << 16)
#define KQ_APIC_LVTT_TSCDEADLINE (2u << 17)
#define KQ_APIC_ICR_SELF	 (1u << 18) /* destination shorthand "self" */

static inline uint64_t kq_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr) : "memory");
	return ((uint64_t)hi << 32) | lo;
}

static inline void kq_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void kq_sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void kq_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* Halts until *count differs from before, and returns with interrupts
 * enabled. The usual "sti; hlt" leans on STI's interrupt shadow to not lose a
 * wake-up, and some nested hosts mishandle an interrupt that is already
 * pending at a HLT in that shadow (the vCPU then sleeps for good). Here
 * interrupts are enabled before the check instead, and a handler that lands
 * between the check and the HLT sends the vCPU back to the check
 * (kq_hlt_fixup), so no wake-up is lost either. */
void kq_halt_until(volatile uint64_t *count, uint64_t before);
/* Every handler whose interrupt may end a kq_halt_until calls this first.
 * kq_hlt_skips counts the interrupts that came before the HLT did. */
void kq_hlt_fixup(struct kq_isr_frame *f);
extern volatile uint64_t kq_hlt_skips;

/* The vendor decides the hypercall instruction: KVM on AMD turns a VMCALL into
 * a #UD it emulates (and patches), and KVM on Intel does the same to VMMCALL. */
int kq_cpu_is_amd(void);

/* Software-enables the LAPIC (spurious vector KQ_VEC_SPURIOUS, TPR 0),
 * switching to x2APIC mode first when asked. The mode stays for later calls. */
void kq_lapic_enable(int x2apic);
uint32_t kq_lapic_read(uint32_t reg);
void kq_lapic_write(uint32_t reg, uint32_t v);
void kq_lapic_eoi(void);
/* A fixed, edge IPI of `vector` to APIC ID `dest`, or to this vCPU when
 * dest is KQ_APIC_SELF (the "self" shorthand). */
#define KQ_APIC_SELF 0xffffffffu
void kq_lapic_send_ipi(uint32_t dest, uint8_t vector);
/* The LAPIC timer in TSC-deadline mode (masked or not) with vector. */
void kq_lapic_timer_tscdeadline(uint8_t vector, int masked);

/* A watchdog around an instruction that a broken host might never complete
 * (KVM re-entering the guest at it forever): arms the TSC-deadline timer `ms`
 * ahead with interrupts enabled. If it fires first, the guest reports `what`
 * and where it was stuck, and fails at once instead of at the host's time
 * limit. Needs the in-kernel LAPIC; a no-op without CPUID's TSC-deadline bit. */
void kq_guard_arm(uint32_t ms, const char *what);
void kq_guard_disarm(void);

#endif
