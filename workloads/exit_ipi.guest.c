/* Guest side of the IPI kinds kvm-unit-tests' x86/vmexit.c times beside the
 * plain self-IPI: a self-IPI held back by the TPR and delivered by the TPR
 * write that lowers it, a self-IPI taken by STI;HLT, and an IPI that wakes a
 * halted vCPU. Rows in workloads/exit_table.def. */
#include "workloads/exit_guest.h"
#include "workloads/exit_lapic.h"

/* A TPR whose priority class (bits 7:4) is at or above the vector's class
 * blocks it: 0xf0 holds back every vector, KQ_VEC_SELF_IPI included. */
#define TPR_BLOCK_ALL 0xf0u

static volatile uint64_t ipi_count;

static int on_ipi(struct kq_isr_frame *f)
{
	kq_hlt_fixup(f);
	ipi_count = ipi_count + 1;
	kq_lapic_eoi();
	return 1;
}

/* --- self-IPI held by the TPR --------------------------------------------
 * Interrupts stay enabled. With the TPR raised the IPI must stay pending in
 * the IRR; the TPR write that lowers it makes KVM deliver it (a TPR-below-
 * threshold exit on VMX, a CR8/TPR write intercept on SVM). The guest checks
 * both: a handler that ran early, or never ran, fails the test. */

struct tpr_ctx {
	uint64_t early; /* IPIs delivered while the TPR should have held them */
	uint64_t late;	/* IPIs not yet delivered after the TPR went down */
};

static void tpr_loop(void *ctx, uint64_t iters)
{
	struct tpr_ctx *c = ctx;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t before = ipi_count;
		kq_lapic_write(KQ_APIC_TPR, TPR_BLOCK_ALL);
		kq_lapic_send_ipi(KQ_APIC_SELF, KQ_VEC_SELF_IPI);
		c->early += ipi_count != before;
		kq_lapic_write(KQ_APIC_TPR, 0);
		c->late += ipi_count == before;
		/* Count it as the plain self-IPI does if a host injects late. */
		while (ipi_count == before)
			kq_pause();
	}
}

static void self_ipi_tpr(const char *kind, int x2apic)
{
	struct tpr_ctx c = {0, 0};
	kq_set_isr_handler(KQ_VEC_SELF_IPI, on_ipi);
	kq_lapic_enable(x2apic);
	kq_sti();
	kq_measure(kind, tpr_loop, &c);
	kq_cli();
	char name[48];
	kq_snprintf(name, sizeof(name), "%s.late", kind);
	kq_result_u64(name, "count", c.late);
	if (c.early)
		kq_printf("%llu self-IPIs were delivered while TPR 0x%x should have held them",
			  (unsigned long long)c.early, TPR_BLOCK_ALL);
	KQ_GUEST_ASSERT(c.early == 0);
}

void kq_exit_self_ipi_tpr_xapic(struct kq_params *p, const char *kind)
{
	self_ipi_tpr(kind, 0);
}

void kq_exit_self_ipi_tpr_x2apic(struct kq_params *p, const char *kind)
{
	self_ipi_tpr(kind, 1);
}

/* --- self-IPI taken by STI;HLT -------------------------------------------
 * With interrupts off, the IPI is sent and stays pending; STI's shadow lets
 * the HLT execute, so every iteration is a HLT exit that finds an interrupt
 * pending and re-enters the guest to deliver it. Some nested hosts lose that
 * wake-up (see kq_halt_until): the guard timer then fails the test with the
 * RIP instead of letting the vCPU sleep until the time limit. */

static void sti_hlt_loop(void *ctx, uint64_t iters)
{
	*(uint64_t *)ctx += iters;
	for (uint64_t i = 0; i < iters; i++) {
		kq_lapic_send_ipi(KQ_APIC_SELF, KQ_VEC_SELF_IPI);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

static void self_ipi_sti_hlt(struct kq_params *p, const char *kind, int x2apic)
{
	kq_set_isr_handler(KQ_VEC_SELF_IPI, on_ipi);
	kq_lapic_enable(x2apic);
	/* Generous: the measurement takes about its time goal; only a lost
	 * wake-up takes this long. */
	uint64_t goal_ms = p->time_goal_cycles / (p->tsc_khz ? p->tsc_khz : 1);
	kq_guard_arm((uint32_t)(20 * goal_ms + 2000), "STI;HLT with a self-IPI pending");
	kq_cli();
	uint64_t start = ipi_count, sent = 0;
	kq_measure(kind, sti_hlt_loop, &sent);
	kq_guard_disarm();
	/* Every HLT returned through the handler: one delivery per IPI. */
	if (ipi_count - start != sent)
		kq_printf("%llu self-IPIs sent, %llu delivered", (unsigned long long)sent,
			  (unsigned long long)(ipi_count - start));
	KQ_GUEST_ASSERT(ipi_count - start == sent);
}

void kq_exit_self_ipi_sti_hlt_xapic(struct kq_params *p, const char *kind)
{
	self_ipi_sti_hlt(p, kind, 0);
}

void kq_exit_self_ipi_sti_hlt_x2apic(struct kq_params *p, const char *kind)
{
	self_ipi_sti_hlt(p, kind, 1);
}

/* --- an IPI that wakes a halted vCPU ---------------------------------------
 * vCPU 1 halts (kq_halt_until); vCPU 0 waits until it has announced the
 * halt, lets it get there, sends one IPI and times until vCPU 1's handler has
 * run: wake-up, injection and handler, one sample per IPI. An IPI that came
 * before the HLT (kq_hlt_skips moved) is counted as not_halted, not sampled. The halt-polling
 * counters of vCPU 1 (host side) tell polled wake-ups from real sleeps. */

static volatile uint64_t armed, acked, halted_stop;

static int on_wake(struct kq_isr_frame *f)
{
	kq_hlt_fixup(f);
	acked = acked + 1;
	kq_lapic_eoi();
	return 1;
}

static void ipi_halted_responder(void)
{
	kq_set_isr_handler(KQ_VEC_PING, on_wake);
	for (;;) {
		uint64_t before = acked;
		__atomic_store_n(&armed, before + 1, __ATOMIC_SEQ_CST);
		kq_halt_until(&acked, before);
		kq_cli();
		if (__atomic_load_n(&halted_stop, __ATOMIC_SEQ_CST))
			return;
	}
}

void kq_exit_ipi_halted(struct kq_params *p, const char *kind)
{
	KQ_GUEST_ASSERT(p->nr_vcpus == 2);
	kq_lapic_enable((int)p->args[0]);
	if (p->vcpu == 1) {
		ipi_halted_responder();
		return;
	}
	/* The responder needs this long after announcing its halt to execute
	 * the HLT and have KVM take the exit (args[1] microseconds). */
	uint64_t settle = p->args[1] * p->tsc_khz / 1000;
	uint64_t goal = p->time_goal_cycles ? p->time_goal_cycles : p->tsc_khz * 100;
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	uint64_t n = 0, not_halted = 0, tries = 0, start = kq_rdtsc_begin();
	for (int warm = -8; (kq_rdtsc_begin() - start < goal || n < 8) && n < KQ_MAX_SAMPLES &&
			    tries++ < 4 * KQ_MAX_SAMPLES;
	     warm++) {
		uint64_t before = acked, skips = kq_hlt_skips;
		while (__atomic_load_n(&armed, __ATOMIC_SEQ_CST) != before + 1)
			kq_pause();
		uint64_t t = kq_rdtsc_begin();
		while (kq_rdtsc_begin() - t < settle)
			kq_pause();
		uint64_t t0 = kq_rdtsc_begin();
		kq_lapic_send_ipi(1, KQ_VEC_PING);
		while (acked == before)
			__asm__ volatile("" ::: "memory");
		uint64_t t1 = kq_rdtsc_begin();
		if (warm < 0)
			start = kq_rdtsc_begin();
		else if (kq_hlt_skips != skips)
			not_halted++; /* it came before vCPU 1 reached the HLT */
		else
			samples[n++] = t1 - t0;
	}
	if (!n)
		kq_printf("every IPI reached vCPU 1 before it halted: raise settle_us");
	KQ_GUEST_ASSERT(n > 0);
	kq_samples(kind, "cycles", samples, n, 1);
	char name[48];
	kq_snprintf(name, sizeof(name), "%s.not_halted", kind);
	kq_result_u64(name, "count", not_halted);
	/* Release the responder: the last IPI finds the stop flag set. */
	uint64_t before = acked;
	while (__atomic_load_n(&armed, __ATOMIC_SEQ_CST) != before + 1)
		kq_pause();
	__atomic_store_n(&halted_stop, 1, __ATOMIC_SEQ_CST);
	kq_lapic_send_ipi(1, KQ_VEC_PING);
	while (acked == before)
		__asm__ volatile("" ::: "memory");
}
