/* Guest side of the exit kinds that need no interrupts: the measurement
 * floor (empty loop, rdtsc, rdtscp), instructions KVM handles in the kernel
 * (hypercall, MSRs, port and LAPIC accesses, CR8, XSETBV, INVLPG, debug
 * registers, WBINVD, INVD) and accesses our userspace or an eventfd answers.
 * Each loop is a kq_measured_fn: kq_measure() times batches of it. The
 * rows of workloads/exit_table.def name these functions. */
#include "workloads/exit_guest.h"
#include "workloads/exit_lapic.h"

/* --- the floor: loops without exits -------------------------------------- */

void kq_exit_empty_loop(void *ctx, uint64_t iters)
{
	uint64_t i = 0;
	if (!iters)
		return;
	/* The reference loops' own skeleton, with nothing to exit on. */
	__asm__ volatile("1: add $1, %%rcx\n\t"
			 "cmp %%rcx, %%rsi\n\t"
			 "jne 1b"
			 : "+c"(i)
			 : "S"(iters)
			 : "cc");
}

void kq_exit_rdtsc_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("rdtsc" ::: "eax", "edx", "memory");
}

static void rdtscp_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("rdtscp" ::: "eax", "ecx", "edx", "memory");
}

void kq_exit_rdtscp(struct kq_params *p, const char *kind)
{
	/* The host skips this kind when CPUID lacks RDTSCP; a #UD here would
	 * mean the CPUID and the CPU disagree. */
	KQ_GUEST_ASSERT(kq_have_rdtscp);
	kq_measure(kind, rdtscp_loop, 0);
}

/* --- hypercall ------------------------------------------------------------ */

struct hc_ctx {
	uint64_t bad; /* answers other than -KVM_ENOSYS */
	uint64_t last;
};

static void vmcall_loop(void *ctx, uint64_t iters)
{
	struct hc_ctx *c = ctx;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t ret;
		__asm__ volatile("vmcall"
				 : "=a"(ret)
				 : "a"((uint64_t)KQ_HC_UNKNOWN), "b"(0ULL), "c"(0ULL), "d"(0ULL),
				   "S"(0ULL)
				 : "memory");
		c->bad += ret != (uint64_t)-KQ_KVM_ENOSYS;
		c->last = ret;
	}
}

static void vmmcall_loop(void *ctx, uint64_t iters)
{
	struct hc_ctx *c = ctx;
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t ret;
		__asm__ volatile("vmmcall"
				 : "=a"(ret)
				 : "a"((uint64_t)KQ_HC_UNKNOWN), "b"(0ULL), "c"(0ULL), "d"(0ULL),
				   "S"(0ULL)
				 : "memory");
		c->bad += ret != (uint64_t)-KQ_KVM_ENOSYS;
		c->last = ret;
	}
}

void kq_exit_hypercall(struct kq_params *p, const char *kind)
{
	struct hc_ctx c = {0, 0};
	/* args[0]: 0 follows the vendor, 1 forces VMCALL, 2 VMMCALL. */
	int amd = p->args[0] ? p->args[0] == 2 : kq_cpu_is_amd();
	kq_measured_fn loop = amd ? vmmcall_loop : vmcall_loop;
	/* A host that re-enters the guest at the hypercall forever (one whose
	 * instruction patching goes wrong) fails here within a second. */
	kq_guard_arm(1000, amd ? "VMMCALL (0f 01 d9)" : "VMCALL (0f 01 c1)");
	loop(&c, 1);
	kq_guard_disarm();
	kq_measure(kind, loop, &c);
	if (c.bad)
		kq_printf("hypercall 0x%x answered 0x%llx, not -KVM_ENOSYS (-%d)", KQ_HC_UNKNOWN,
			  (unsigned long long)c.last, KQ_KVM_ENOSYS);
	KQ_GUEST_ASSERT(c.bad == 0);
}

/* --- MSRs ----------------------------------------------------------------- */

static void tscdeadline_read_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		(void)kq_rdmsr(KQ_MSR_TSC_DEADLINE);
}

static void tscdeadline_write_loop(void *ctx, uint64_t iters)
{
	/* 0 disarms: the timer never fires, yet KVM runs its deadline path. */
	for (uint64_t i = 0; i < iters; i++)
		kq_wrmsr(KQ_MSR_TSC_DEADLINE, 0);
}

static void exit_msr_kernel(const char *kind, int write)
{
	/* Deadline mode, masked: a write goes through KVM's timer code rather
	 * than being dropped as in one-shot mode, and nothing is ever delivered. */
	kq_lapic_enable(0);
	kq_lapic_timer_tscdeadline(KQ_VEC_TIMER, 1);
	kq_measure(kind, write ? tscdeadline_write_loop : tscdeadline_read_loop, 0);
}

void kq_exit_msr_read_kernel(struct kq_params *p, const char *kind)
{
	exit_msr_kernel(kind, 0);
}

void kq_exit_msr_write_kernel(struct kq_params *p, const char *kind)
{
	exit_msr_kernel(kind, 1);
}

static void user_msr_read_loop(void *ctx, uint64_t iters)
{
	uint64_t *bad = ctx;
	for (uint64_t i = 0; i < iters; i++)
		*bad += kq_rdmsr(KQ_MSR_USER) != KQ_MSR_USER_VALUE;
}

static void user_msr_write_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		kq_wrmsr(KQ_MSR_USER, i);
}

void kq_exit_msr_read_user(struct kq_params *p, const char *kind)
{
	uint64_t bad = 0;
	kq_measure(kind, user_msr_read_loop, &bad);
	KQ_GUEST_ASSERT(bad == 0); /* every RDMSR got the host's answer */
}

void kq_exit_msr_write_user(struct kq_params *p, const char *kind)
{
	kq_measure(kind, user_msr_write_loop, 0);
	/* The host keeps the last value written: read it back through it. */
	kq_wrmsr(KQ_MSR_USER, 0x1234);
	KQ_GUEST_ASSERT(kq_rdmsr(KQ_MSR_USER) == 0x1234);
}

/* --- port I/O and MMIO ---------------------------------------------------- */

void kq_exit_elcr_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint8_t v;
		__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((uint16_t)KQ_PORT_ELCR) : "memory");
	}
}

/* Written out so that workloads/reference.c runs the very same loop (its
 * KQ_REF_MMIO code): on hosts that emulate around an exit, every instruction
 * of the loop counts. */
static void mmio_write_loop(uint64_t gpa, uint64_t iters)
{
	uint64_t i = 0;
	if (!iters)
		return;
	__asm__ volatile("1: mov %%al, (%%rbx)\n\t"
			 "add $1, %%rcx\n\t"
			 "cmp %%rcx, %%rsi\n\t"
			 "jne 1b"
			 : "+c"(i)
			 : "a"(0), "b"(gpa), "S"(iters)
			 : "memory", "cc");
}

static void mmio_user_loop(void *ctx, uint64_t iters)
{
	mmio_write_loop(KQ_MMIO_GPA, iters);
}

void kq_exit_mmio_user(struct kq_params *p, const char *kind)
{
	KQ_GUEST_ASSERT(p->mmio_gpa == KQ_MMIO_GPA);
	kq_measure(kind, mmio_user_loop, 0);
}

static void lapic_read_loop(void *ctx, uint64_t iters)
{
	volatile uint32_t *reg = ctx;
	for (uint64_t i = 0; i < iters; i++)
		(void)*reg;
}

void kq_exit_mmio_kernel(struct kq_params *p, const char *kind)
{
	uint64_t off = p->args[0];
	KQ_GUEST_ASSERT(off < 0x400 && off % 16 == 0);
	/* xAPIC mode (the reset state): the LAPIC page is KVM's in-kernel MMIO. */
	kq_lapic_enable(0);
	kq_measure(kind, lapic_read_loop, (void *)(uintptr_t)(KQ_LAPIC_GPA + off));
}

/* Counts what it writes, so the host can check the eventfd saw every write. */
static void ioeventfd_mmio_loop(void *ctx, uint64_t iters)
{
	*(uint64_t *)ctx += iters;
	mmio_write_loop(KQ_IOEVENTFD_GPA, iters);
}

static void ioeventfd_pio_loop(void *ctx, uint64_t iters)
{
	*(uint64_t *)ctx += iters;
	for (uint64_t i = 0; i < iters; i++)
		kq_outb(KQ_IOEVENTFD_PORT, 0);
}

void kq_exit_ioeventfd(struct kq_params *p, const char *kind)
{
	uint64_t writes = 0;
	kq_measure(kind, p->args[0] == KQ_IOEVENT_PIO ? ioeventfd_pio_loop : ioeventfd_mmio_loop,
		   &writes);
	char name[48];
	kq_snprintf(name, sizeof(name), "%s.writes", kind);
	kq_result_u64(name, "count", writes);
}

/* --- control and debug registers, caches, TLB ----------------------------- */

void kq_exit_cr8_write_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("mov %0, %%cr8" ::"r"(0ULL) : "memory");
}

/* kvm-unit-tests' mov_from_cr8: a read of the TPR through CR8. */
void kq_exit_cr8_read_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t v;
		__asm__ volatile("mov %%cr8, %0" : "=r"(v)::"memory");
	}
}

#define CR0_WP	(1ULL << 16)
#define CR4_PGE (1ULL << 7)

static inline uint64_t read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* Two MOVs to CR0 per iteration: WP off, WP back on (kvm-unit-tests'
 * toggle_cr0_wp). Ring 0 touches no read-only page meanwhile. */
void kq_exit_cr0_wp_toggle_loop(void *ctx, uint64_t iters)
{
	uint64_t cr0 = read_cr0();
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("mov %0, %%cr0\n\t"
				 "mov %1, %%cr0" ::"r"(cr0 ^ CR0_WP),
				 "r"(cr0)
				 : "memory");
}

static void cr4_pge_toggle_loop(void *ctx, uint64_t iters)
{
	uint64_t cr4 = *(uint64_t *)ctx;
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("mov %0, %%cr4\n\t"
				 "mov %1, %%cr4" ::"r"(cr4 & ~CR4_PGE),
				 "r"(cr4)
				 : "memory");
}

/* Two MOVs to CR4 per iteration: PGE off (which flushes the whole TLB,
 * global pages included), PGE back on. The vmm starts without PGE. */
void kq_exit_cr4_pge_toggle(struct kq_params *p, const char *kind)
{
	uint32_t r[4];
	kq_cpuid(1, 0, r);
	KQ_GUEST_ASSERT(r[3] & (1u << 13)); /* CPUID PGE: the host checked it */
	uint64_t cr4 = read_cr4() | CR4_PGE;
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
	kq_measure(kind, cr4_pge_toggle_loop, &cr4);
}

static void xsetbv_loop(void *ctx, uint64_t iters)
{
	uint64_t xcr0 = *(uint64_t *)ctx;
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("xsetbv" ::"c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32))
				 : "memory");
}

void kq_exit_xsetbv(struct kq_params *p, const char *kind)
{
	uint32_t r[4], lo, hi;
	kq_cpuid(1, 0, r);
	KQ_GUEST_ASSERT(r[2] & (1u << 27)); /* CPUID OSXSAVE: CR4.OSXSAVE is set */
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	/* Writing back the current XCR0 changes nothing but still exits. */
	uint64_t xcr0 = ((uint64_t)hi << 32) | lo;
	kq_measure(kind, xsetbv_loop, &xcr0);
}

static uint8_t invlpg_target[4096] __attribute__((aligned(4096)));

void kq_exit_invlpg_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("invlpg (%0)" ::"r"(invlpg_target) : "memory");
}

void kq_exit_dr7_write_loop(void *ctx, uint64_t iters)
{
	/* 0x400: DR7's reset value, no breakpoint enabled. */
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("mov %0, %%dr7" ::"r"(0x400ULL) : "memory");
}

void kq_exit_dr0_read_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t v;
		__asm__ volatile("mov %%dr0, %0" : "=r"(v)::"memory");
	}
}

void kq_exit_wbinvd_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("wbinvd" ::: "memory");
}

void kq_exit_invd_loop(void *ctx, uint64_t iters)
{
	/* KVM intercepts INVD on both vendors and skips it (a guest must not
	 * drop the host's dirty cache lines); bare, it would lose data. */
	for (uint64_t i = 0; i < iters; i++)
		__asm__ volatile("invd" ::: "memory");
}
