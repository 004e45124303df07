/* Deliberately self-contained: raw ioctls, a long-mode guest of a few bytes,
 * host-side TSC timing of whole batches of KVM_RUN round trips. */
#include "workloads/reference.h"
#include "guest/abi.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <x86intrin.h>

#define REF_MEM	     0x10000 /* one slot: page tables and code */
#define REF_PML4     0x1000
#define REF_PDPT     0x2000
#define REF_PD	     0x3000
#define REF_CODE     0x4000
#define REF_MMIO_GPA 0x100000 /* mapped by the 2M page, beyond the slot: MMIO */

/* The guest loops mirror, instruction for instruction, the loops gcc makes of
 * the micro-VMM's measured workloads (workloads/exit_basic.guest.c), in 64-bit
 * mode like them: where KVM must decode or emulate around an exit (hosts
 * without next-RIP support, nested ones among them), every instruction of the
 * loop adds to the exit's cost, so only the same loop is a fair reference. */
/* 1: out %al,(%dx); add $1,%rcx; cmp %rcx,%rsi; jne 1b */
static const uint8_t pio_code[] = {0xee, 0x48, 0x83, 0xc1, 0x01, 0x48, 0x39, 0xce, 0x75, 0xf6};
/* 1: mov %al,(%rbx); add $1,%rcx; cmp %rcx,%rsi; jne 1b */
static const uint8_t mmio_code[] = {0x88, 0x03, 0x48, 0x83, 0xc1, 0x01,
				    0x48, 0x39, 0xce, 0x75, 0xf5};

struct ref_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
};

#define TRY(call, what)                                                                            \
	do {                                                                                       \
		if ((call) < 0) {                                                                  \
			snprintf(err, errlen, "reference loop: %s: %s", what, strerror(errno));    \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

static int ref_setup(struct ref_vm *r, enum kq_reference_kind kind, char *err, size_t errlen)
{
	r->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	TRY(r->kvm, "open /dev/kvm");
	r->vm = ioctl(r->kvm, KVM_CREATE_VM, 0);
	TRY(r->vm, "ioctl KVM_CREATE_VM");
	TRY(ioctl(r->vm, KVM_SET_TSS_ADDR, 0xfffbd000UL), "ioctl KVM_SET_TSS_ADDR");
	r->mem = mmap(NULL, REF_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->mem == MAP_FAILED) {
		r->mem = NULL;
		TRY(-1, "mmap guest memory");
	}
	uint8_t *m = r->mem;
	if (kind == KQ_REF_PIO)
		memcpy(m + REF_CODE, pio_code, sizeof(pio_code));
	else
		memcpy(m + REF_CODE, mmio_code, sizeof(mmio_code));
	/* Identity map of the first 2 MiB with one large page. */
	*(uint64_t *)(m + REF_PML4) = REF_PDPT | 3;
	*(uint64_t *)(m + REF_PDPT) = REF_PD | 3;
	*(uint64_t *)(m + REF_PD) = 0 | 0x83;
	struct kvm_userspace_memory_region slot = {.slot = 0,
						   .guest_phys_addr = 0,
						   .memory_size = REF_MEM,
						   .userspace_addr = (uintptr_t)r->mem};
	TRY(ioctl(r->vm, KVM_SET_USER_MEMORY_REGION, &slot), "ioctl KVM_SET_USER_MEMORY_REGION");
	r->vcpu = ioctl(r->vm, KVM_CREATE_VCPU, 0);
	TRY(r->vcpu, "ioctl KVM_CREATE_VCPU");
	int sz = ioctl(r->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	TRY(sz, "ioctl KVM_GET_VCPU_MMAP_SIZE");
	r->run_size = (size_t)sz;
	r->run = mmap(NULL, r->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, r->vcpu, 0);
	if (r->run == MAP_FAILED) {
		r->run = NULL;
		TRY(-1, "mmap kvm_run");
	}
	struct kvm_sregs s;
	TRY(ioctl(r->vcpu, KVM_GET_SREGS, &s), "ioctl KVM_GET_SREGS");
	struct kvm_segment code = {
	    .limit = 0xffffffff, .selector = 8, .type = 0xb, .present = 1, .s = 1, .l = 1, .g = 1};
	struct kvm_segment data = {.limit = 0xffffffff,
				   .selector = 16,
				   .type = 0x3,
				   .present = 1,
				   .s = 1,
				   .db = 1,
				   .g = 1};
	s.cs = code;
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	s.cr3 = REF_PML4;
	s.cr4 = 1 << 5;		       /* PAE */
	s.cr0 = 0x80000001 | (1 << 4); /* PG, PE, ET */
	s.efer = (1 << 8) | (1 << 10); /* LME, LMA */
	TRY(ioctl(r->vcpu, KVM_SET_SREGS, &s), "ioctl KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = REF_CODE,
				.rflags = 2,
				.rdx = KQ_PIO_BENCH_PORT,
				.rbx = REF_MMIO_GPA,
				.rsi = UINT64_MAX};
	TRY(ioctl(r->vcpu, KVM_SET_REGS, &regs), "ioctl KVM_SET_REGS");
	return 0;
}

static void ref_teardown(struct ref_vm *r)
{
	if (r->run)
		munmap(r->run, r->run_size);
	if (r->mem)
		munmap(r->mem, REF_MEM);
	if (r->vcpu > 0)
		close(r->vcpu);
	if (r->vm > 0)
		close(r->vm);
	if (r->kvm > 0)
		close(r->kvm);
}

/* n round trips; the exit must be the expected one. */
static int ref_loop(struct ref_vm *r, enum kq_reference_kind kind, uint64_t n, char *err,
		    size_t errlen)
{
	uint32_t want = kind == KQ_REF_PIO ? KVM_EXIT_IO : KVM_EXIT_MMIO;
	for (uint64_t i = 0; i < n; i++) {
		TRY(ioctl(r->vcpu, KVM_RUN, 0), "ioctl KVM_RUN");
		if (r->run->exit_reason != want) {
			snprintf(err, errlen, "reference loop: exit reason %u, expected %u",
				 r->run->exit_reason, want);
			return -1;
		}
	}
	return 0;
}

static inline uint64_t tsc_begin(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

int kq_reference_run(enum kq_reference_kind kind, double goal_ms, struct kq_reference *out,
		     char *err, size_t errlen)
{
	struct ref_vm r = {.kvm = -1, .vm = -1, .vcpu = -1};
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (ref_setup(&r, kind, err, errlen) < 0)
		goto done;
	long khz = ioctl(r.vcpu, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0) {
		snprintf(err, errlen, "reference loop: ioctl KVM_GET_TSC_KHZ: %s", strerror(errno));
		goto done;
	}
	out->tsc_khz = (uint64_t)khz;
	uint64_t goal = (uint64_t)(goal_ms * (double)khz);
	/* The same method as the guest's kq_measure: warm-up, grow, record. */
	if (ref_loop(&r, kind, 64, err, errlen) < 0)
		goto done;
	uint64_t batch = 1, t0, t1;
	for (;;) {
		t0 = tsc_begin();
		if (ref_loop(&r, kind, batch, err, errlen) < 0)
			goto done;
		t1 = tsc_begin();
		if (t1 - t0 >= goal / 32 || batch >= (1ULL << 32))
			break;
		batch *= 2;
	}
	uint64_t spent = 0;
	size_t max = sizeof(out->totals) / sizeof(out->totals[0]);
	while ((spent < goal || out->n < 8) && out->n < max) {
		t0 = tsc_begin();
		if (ref_loop(&r, kind, batch, err, errlen) < 0)
			goto done;
		t1 = tsc_begin();
		out->totals[out->n++] = t1 - t0;
		spent += t1 - t0;
	}
	out->batch = batch;
	rc = 0;
done:
	ref_teardown(&r);
	return rc;
}
