/* Guest side of the exit kinds that involve interrupts from the in-kernel
 * LAPIC: hlt woken by the timer, the TSC-deadline timer armed in the past and
 * in the future, self-IPIs through xAPIC and x2APIC, and IPI ping-pong
 * between two vCPUs. Interrupt handlers record the TSC at entry and EOI. */
#include "workloads/exit_guest.h"
#include "workloads/exit_lapic.h"

/* Written by handlers on this vCPU or, for ping-pong, by the other one. */
static volatile uint64_t timer_tsc, timer_count;
static volatile uint64_t self_ipi_count;

static int on_timer(struct kq_isr_frame *f)
{
	kq_hlt_fixup(f);
	timer_tsc = kq_rdtsc_begin();
	timer_count = timer_count + 1;
	kq_lapic_eoi();
	return 1;
}

static int on_self_ipi(struct kq_isr_frame *f)
{
	kq_hlt_fixup(f);
	self_ipi_count = self_ipi_count + 1;
	kq_lapic_eoi();
	return 1;
}

static void timer_setup(void)
{
	kq_set_isr_handler(KQ_VEC_TIMER, on_timer);
	kq_lapic_enable(0);
	kq_lapic_timer_tscdeadline(KQ_VEC_TIMER, 0);
}

/* --- timer lateness: one sample per interrupt ----------------------------- */

/* Arms the deadline `delay` cycles ahead and waits for its interrupt, halted
 * or spinning; returns how late the handler ran, in cycles (0 when early).
 * *halted tells whether the vCPU was halted when it came. */
static uint64_t one_deadline(uint64_t delay, int halt, uint64_t *early, int *halted)
{
	uint64_t before = timer_count, skips = kq_hlt_skips;
	uint64_t deadline = kq_rdtsc_begin() + delay;
	kq_wrmsr(KQ_MSR_TSC_DEADLINE, deadline);
	if (halt) {
		kq_halt_until(&timer_count, before);
		kq_cli();
	} else {
		kq_sti();
		while (timer_count == before)
			__asm__ volatile("" ::: "memory");
		kq_cli();
	}
	*halted = halt && kq_hlt_skips == skips;
	int64_t late = (int64_t)(timer_tsc - deadline);
	if (late < 0) {
		++*early;
		return 0;
	}
	return (uint64_t)late;
}

/* One sample per interrupt. Halted: only the deadlines that found the vCPU
 * halted count (a slow host may reach the HLT after the deadline); the others
 * are reported as "<name>.not_halted". */
static void measure_lateness(const char *name, struct kq_params *p, int halt)
{
	uint64_t delay = p->args[0] * p->tsc_khz / 1000;
	uint64_t goal = p->time_goal_cycles ? p->time_goal_cycles : p->tsc_khz * 100;
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;
	uint64_t early = 0, n = 0, missed = 0, tries = 0;
	int halted;
	timer_setup();
	for (int i = 0; i < 8; i++) /* warm-up: KVM's halt-polling adapts here too */
		one_deadline(delay, halt, &early, &halted);
	early = 0;
	uint64_t start = kq_rdtsc_begin();
	while ((kq_rdtsc_begin() - start < goal || n < 8) && n < KQ_MAX_SAMPLES &&
	       tries++ < 4 * KQ_MAX_SAMPLES) {
		uint64_t late = one_deadline(delay, halt, &early, &halted);
		if (halt && !halted)
			missed++;
		else
			samples[n++] = late;
	}
	if (!n)
		kq_printf("every deadline passed before the vCPU halted: raise delay_us");
	KQ_GUEST_ASSERT(n > 0);
	kq_samples(name, "cycles", samples, n, 1);
	char vname[40];
	kq_snprintf(vname, sizeof(vname), "%s.early", name);
	kq_result_u64(vname, "count", early);
	if (halt) {
		kq_snprintf(vname, sizeof(vname), "%s.not_halted", name);
		kq_result_u64(vname, "count", missed);
	}
}

void kq_exit_hlt_timer(struct kq_params *p, const char *kind)
{
	measure_lateness(kind, p, 1);
}

void kq_exit_tscdeadline_future(struct kq_params *p, const char *kind)
{
	measure_lateness(kind, p, 0);
}

/* Waits, interrupts enabled, until a handler moved *count past before. KVM
 * injects the interrupt when it re-enters the guest after the exit that
 * raised it, so normally it has run before the first check. A host that
 * delays injection until some later exit gets one: the HLT. The
 * "<kind>.halted_waits" result counts those, so a reader knows the samples
 * then include a HLT exit. */
static uint64_t halted_waits;

static void wait_for(volatile uint64_t *count, uint64_t before)
{
	if (*count != before)
		return;
	halted_waits++;
	kq_halt_until(count, before);
}

/* --- a deadline already past: WRMSR to handler, batched ------------------- */

static void deadline_now_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t before = timer_count;
		/* 1 lies in the past (0 would disarm): KVM fires at once. */
		kq_wrmsr(KQ_MSR_TSC_DEADLINE, 1);
		wait_for(&timer_count, before);
	}
}

void kq_exit_tscdeadline_immediate(struct kq_params *p, const char *kind)
{
	timer_setup();
	kq_sti();
	uint64_t start = timer_count;
	kq_measure(kind, deadline_now_loop, 0);
	kq_cli();
	KQ_GUEST_ASSERT(timer_count > start);
	char vname[48];
	kq_snprintf(vname, sizeof(vname), "%s.halted_waits", kind);
	kq_result_u64(vname, "count", halted_waits);
}

/* --- self-IPI ------------------------------------------------------------- */

static void self_ipi_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t before = self_ipi_count;
		kq_lapic_send_ipi(KQ_APIC_SELF, KQ_VEC_SELF_IPI);
		wait_for(&self_ipi_count, before);
	}
}

static void self_ipi(const char *name, int x2apic)
{
	kq_set_isr_handler(KQ_VEC_SELF_IPI, on_self_ipi);
	kq_lapic_enable(x2apic);
	kq_sti();
	kq_measure(name, self_ipi_loop, 0);
	kq_cli();
	char vname[40];
	kq_snprintf(vname, sizeof(vname), "%s.halted_waits", name);
	kq_result_u64(vname, "count", halted_waits);
}

void kq_exit_self_ipi_xapic(struct kq_params *p, const char *kind)
{
	self_ipi(kind, 0);
}

void kq_exit_self_ipi_x2apic(struct kq_params *p, const char *kind)
{
	self_ipi(kind, 1);
}

/* --- IPI ping-pong between vCPU 0 and vCPU 1 ------------------------------ */

static volatile uint64_t pongs;
static volatile int responder_ready, pingpong_stop;
static volatile uint64_t responder_done;

/* vCPU 1: answers every ping from inside the handler. The stop flag is read
 * before the pong goes out: vCPU 0 sets it only after the last measured pong,
 * so only the final ping, sent after it, can see it set. */
static int on_ping(struct kq_isr_frame *f)
{
	kq_hlt_fixup(f);
	int last = pingpong_stop;
	kq_lapic_send_ipi(0, KQ_VEC_PONG);
	kq_lapic_eoi();
	if (last)
		responder_done = 1;
	return 1;
}

static int on_pong(struct kq_isr_frame *f)
{
	pongs = pongs + 1;
	kq_lapic_eoi();
	return 1;
}

static void pingpong_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t before = pongs;
		kq_lapic_send_ipi(1, KQ_VEC_PING);
		/* No PAUSE: pause-loop exiting would add exits of its own. */
		while (pongs == before)
			__asm__ volatile("" ::: "memory");
	}
}

/* args[0]: x2APIC mode; args[1]: 1 when the responder halts between pings
 * (the IPI then also wakes it), 0 when it spins. */
void kq_exit_ipi_pingpong(struct kq_params *p, const char *kind)
{
	KQ_GUEST_ASSERT(p->nr_vcpus == 2);
	kq_lapic_enable((int)p->args[0]);
	if (p->vcpu == 1) {
		kq_set_isr_handler(KQ_VEC_PING, on_ping);
		__atomic_store_n(&responder_ready, 1, __ATOMIC_SEQ_CST);
		if (p->args[1]) {
			kq_halt_until(&responder_done, 0);
			kq_cli();
		} else {
			kq_sti();
			while (!responder_done)
				__asm__ volatile("" ::: "memory");
			kq_cli();
		}
		return;
	}
	kq_set_isr_handler(KQ_VEC_PONG, on_pong);
	while (!__atomic_load_n(&responder_ready, __ATOMIC_SEQ_CST))
		kq_pause();
	kq_sti();
	kq_measure(kind, pingpong_loop, 0);
	/* The final ping, answered like the others, releases the responder. */
	__atomic_store_n(&pingpong_stop, 1, __ATOMIC_SEQ_CST);
	uint64_t before = pongs;
	kq_lapic_send_ipi(1, KQ_VEC_PING);
	while (pongs == before)
		__asm__ volatile("" ::: "memory");
	kq_cli();
}
