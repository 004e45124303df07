/* The host/guest ABI: the guest image header, the per-vCPU parameter page,
 * the ucall message and step scripts. Included by the freestanding guest and
 * by the host, so it uses fixed-width types only and no host headers. */
#ifndef KQ_GUEST_ABI_H
#define KQ_GUEST_ABI_H

#include <stdint.h>

#define KQ_ABI_VERSION 1

/* The guest image is linked to run at this guest-physical (= virtual) address. */
#define KQ_GUEST_IMAGE_GPA 0x100000ULL
#define KQ_GUEST_IMAGE_MAX 0x100000ULL

/* The guest announces every ucall with one 32-bit OUT to this port carrying the
 * message's guest-physical address. It lies outside the legacy PC ports. */
#define KQ_UCALL_PORT 0x5c0
/* The port that workloads write to when measuring a userspace PIO exit. */
#define KQ_PIO_BENCH_PORT 0x5c8

#define KQ_IMAGE_MAGIC 0x3154534555474b51ULL /* "QKGUEST1" little-endian */

/* At offset 0 of the flat image; the host reads it to find the entry point and
 * the exception stubs it builds the IDT from. */
struct kq_image_header {
	uint64_t magic;
	uint64_t entry;	    /* guest virtual address of the entry point */
	uint64_t isr_table; /* address of 256 handler addresses (uint64_t each) */
	uint64_t image_end; /* end of bss: memory the image needs */
	uint64_t abi_version;
};

enum kq_ucall_kind {
	KQ_UC_SYNC = 1, /* args[0]: stage number; host may reply through args */
	KQ_UC_RESULT, /* name = unit: args[0] value (uint64), args[1] 1 when the value is a double's
			 bits */
	KQ_UC_SAMPLES,	 /* name, unit; data_gpa: uint64_t[count] batch totals; args[0]: divisor per
			    sample */
	KQ_UC_PRINT,	 /* text */
	KQ_UC_ASSERT,	 /* text "file:line: expr" */
	KQ_UC_EXCEPTION, /* args: vector, rip, error code, cr2 */
	KQ_UC_STEP,	 /* args: step index, op, cycles, iterations */
	KQ_UC_DONE,
	KQ_UC_BOOT, /* first thing the guest does: args[0] = rdtsc at entry */
};

struct kq_ucall {
	uint32_t kind;
	uint32_t vcpu;
	uint64_t args[6];
	uint64_t data_gpa;
	uint64_t count;
	char name[40];
	char unit[16];
	char text[200];
};

/* Step scripts: ops executed in order by the guest's interpreter. */
enum kq_step_op {
	KQ_STEP_CPUID = 1, /* arg0: iterations, arg1: leaf */
	KQ_STEP_PIO,	   /* arg0: iterations (userspace PIO exit) */
	KQ_STEP_SPIN,	   /* arg0: microseconds of busy wait, no exits */
	KQ_STEP_TOUCH,	   /* arg0: bytes of test memory to write, arg1: stride */
	KQ_STEP_SYNC,	   /* arg0: tag; a sync ucall the host sees */
	KQ_STEP_MAX
};

#define KQ_MAX_STEPS_ABI 64
#define KQ_MAX_ARGS	 16
#define KQ_MAX_SAMPLES	 3072

struct kq_step {
	uint32_t op;
	uint32_t pad;
	uint64_t arg[3];
};

/* One page per vCPU; RDI points at it when the guest starts. */
struct kq_params {
	uint64_t self; /* this page's address; GS base points here too */
	uint32_t abi_version;
	uint32_t vcpu;
	uint32_t nr_vcpus;
	uint32_t nsteps;
	uint32_t pad;
	uint64_t tsc_khz;
	uint64_t time_goal_cycles; /* adaptive measurement goal */
	uint64_t test_gpa;	   /* test memory region (identity-mapped) */
	uint64_t test_size;
	uint64_t mmio_gpa;    /* mapped in the page tables, backed by no memslot */
	uint64_t samples_gpa; /* this vCPU's sample buffer, KQ_MAX_SAMPLES entries */
	uint64_t args[KQ_MAX_ARGS];
	char workload[40];
	struct kq_step steps[KQ_MAX_STEPS_ABI];
	struct kq_ucall ucall; /* this vCPU's message buffer */
};

#endif
