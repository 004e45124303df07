/* Local APIC access for the exit benchmarks, in xAPIC or x2APIC mode. */
#include "workloads/exit_lapic.h"

static int x2apic_mode;

int kq_cpu_is_amd(void)
{
	uint32_t r[4];
	kq_cpuid(0, 0, r);
	/* "AuthenticAMD" and Hygon's "HygonGenuine" (EBX, EDX, ECX). */
	return (r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163) ||
	       (r[1] == 0x6f677948 && r[3] == 0x6e65476e && r[2] == 0x656e6975);
}

extern const uint8_t kq_hlt_check[], kq_hlt_insn[];
volatile uint64_t kq_hlt_skips;

void __attribute__((noinline)) kq_halt_until(volatile uint64_t *count, uint64_t before)
{
	kq_sti();
	/* The only check-and-halt that kq_hlt_fixup knows the addresses of. */
	__asm__ volatile(".globl kq_hlt_check, kq_hlt_insn\n"
			 "kq_hlt_check: cmp %1, %0\n\t"
			 "jne 2f\n"
			 "kq_hlt_insn: hlt\n\t"
			 "jmp kq_hlt_check\n"
			 "2:"
			 :
			 : "m"(*count), "r"(before)
			 : "memory", "cc");
}

void kq_hlt_fixup(struct kq_isr_frame *f)
{
	/* Interrupted after the check but before halting: the check's result
	 * is stale, so check again instead of halting. */
	uint64_t check = (uint64_t)(uintptr_t)kq_hlt_check, hlt = (uint64_t)(uintptr_t)kq_hlt_insn;
	if (f->rip > check && f->rip <= hlt) {
		f->rip = check;
		kq_hlt_skips = kq_hlt_skips + 1;
	}
}

uint32_t kq_lapic_read(uint32_t reg)
{
	if (x2apic_mode)
		return (uint32_t)kq_rdmsr(KQ_MSR_X2APIC_FIRST + (reg >> 4));
	return *(volatile uint32_t *)(uintptr_t)(KQ_LAPIC_GPA + reg);
}

void kq_lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic_mode)
		kq_wrmsr(KQ_MSR_X2APIC_FIRST + (reg >> 4), v);
	else
		*(volatile uint32_t *)(uintptr_t)(KQ_LAPIC_GPA + reg) = v;
}

void kq_lapic_eoi(void)
{
	kq_lapic_write(KQ_APIC_EOI, 0);
}

void kq_lapic_enable(int x2apic)
{
	if (x2apic) {
		uint32_t r[4];
		kq_cpuid(1, 0, r);
		KQ_GUEST_ASSERT(r[2] & (1u << 21)); /* CPUID x2APIC */
		uint64_t base = kq_rdmsr(KQ_MSR_APIC_BASE);
		KQ_GUEST_ASSERT(base & KQ_APIC_BASE_EN);
		kq_wrmsr(KQ_MSR_APIC_BASE, base | KQ_APIC_BASE_EXTD);
		x2apic_mode = 1;
	}
	kq_lapic_write(KQ_APIC_TPR, 0);
	kq_lapic_write(KQ_APIC_SVR, KQ_APIC_SVR_ENABLE | KQ_VEC_SPURIOUS);
}

void kq_lapic_send_ipi(uint32_t dest, uint8_t vector)
{
	/* Fixed delivery, physical destination, edge: only the vector and the
	 * destination (or the self shorthand) are set. */
	uint32_t low = vector | (dest == KQ_APIC_SELF ? KQ_APIC_ICR_SELF : 0);
	if (dest == KQ_APIC_SELF)
		dest = 0;
	if (x2apic_mode) {
		/* One WRMSR sends it: the destination is the ICR's upper half. */
		kq_wrmsr(KQ_MSR_X2APIC_FIRST + (KQ_APIC_ICR >> 4), ((uint64_t)dest << 32) | low);
		return;
	}
	kq_lapic_write(KQ_APIC_ICR2, dest << 24);
	kq_lapic_write(KQ_APIC_ICR, low);
}

void kq_lapic_timer_tscdeadline(uint8_t vector, int masked)
{
	uint32_t r[4];
	kq_cpuid(1, 0, r);
	KQ_GUEST_ASSERT(r[2] & (1u << 24)); /* CPUID TSC-deadline timer */
	kq_lapic_write(KQ_APIC_LVTT,
		       KQ_APIC_LVTT_TSCDEADLINE | (masked ? KQ_APIC_LVT_MASKED : 0) | vector);
}

static const char *guard_what;
static uint32_t guard_ms;
static int guard_armed;

static int on_guard(struct kq_isr_frame *f)
{
	static const char hex[] = "0123456789abcdef";
	static char msg[160];
	char bytes[9];
	const uint8_t *ip = (const uint8_t *)(uintptr_t)f->rip;
	for (int i = 0; i < 3; i++) {
		bytes[3 * i] = hex[ip[i] >> 4];
		bytes[3 * i + 1] = hex[ip[i] & 15];
		bytes[3 * i + 2] = i < 2 ? ' ' : 0;
	}
	kq_snprintf(msg, sizeof(msg),
		    "%s did not complete in %u ms: still at RIP 0x%llx, bytes there %s", guard_what,
		    guard_ms, (unsigned long long)f->rip, bytes);
	kq_assert_fail(__FILE__, __LINE__, msg);
}

void kq_guard_arm(uint32_t ms, const char *what)
{
	uint32_t r[4];
	kq_cpuid(1, 0, r);
	guard_armed = (r[2] >> 24) & 1;
	if (!guard_armed)
		return;
	guard_what = what;
	guard_ms = ms;
	kq_set_isr_handler(KQ_VEC_GUARD, on_guard);
	kq_lapic_enable(x2apic_mode);
	kq_lapic_timer_tscdeadline(KQ_VEC_GUARD, 0);
	kq_wrmsr(KQ_MSR_TSC_DEADLINE, kq_rdtsc_begin() + (uint64_t)ms * kq_self_params()->tsc_khz);
	kq_sti();
}

void kq_guard_disarm(void)
{
	if (!guard_armed)
		return;
	kq_cli();
	kq_wrmsr(KQ_MSR_TSC_DEADLINE, 0);
	guard_armed = 0;
}
