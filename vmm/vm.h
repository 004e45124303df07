/* A VM: memory slots, page tables, long-mode vCPUs, one thread per vCPU, a
 * watchdog, exit dispatch and the ucall channel. Knows nothing about tests. */
#ifndef KQ_VMM_VM_H
#define KQ_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/abi.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"

enum kq_pagesz { KQ_PG_4K, KQ_PG_2M, KQ_PG_1G };
enum kq_irqchip { KQ_IRQCHIP_NONE, KQ_IRQCHIP_KERNEL, KQ_IRQCHIP_SPLIT };

struct kq_vm;
struct kq_vcpu;

struct kq_vm_config {
	int vcpus;
	uint64_t test_mem;	  /* bytes of test memory at KQ_TEST_GPA; 0 for none */
	enum kq_backing backing;  /* of the test memory */
	enum kq_pagesz page_size; /* guest page size mapping the test memory */
	enum kq_irqchip irqchip;
	bool xsave;	      /* set CR4.OSXSAVE (needs CPUID XSAVE) */
	double time_limit_s;  /* watchdog for kq_vm_run; 0: none */
	const int *cpus;      /* host CPU per vCPU, or NULL: not pinned */
	const char *workload; /* guest workload name (guest/guest.h) */
	uint64_t args[KQ_MAX_ARGS];
	const struct kq_step *steps;
	int nsteps;
	uint64_t time_goal_cycles;
};

/* Handlers for userspace exits, kvmtool-style: registered by address range. */
typedef int (*kq_pio_fn)(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
			 bool is_write);
typedef int (*kq_mmio_fn)(void *ctx, struct kq_vcpu *v, uint64_t addr, uint8_t *data, int len,
			  bool is_write);
/* Non-control ucalls (RESULT, SAMPLES, PRINT, SYNC, STEP). Return 0 to go on,
 * -1 to stop the VM as failed (after kq_vcpu_fail). */
typedef int (*kq_ucall_fn)(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc);
/* Exits the vmm has no handler of its own for (KVM_EXIT_X86_RDMSR once a test
 * routes MSRs to userspace, say), called on the vCPU's thread without the VM
 * lock. Return 0 to go on, -1 to stop the VM as failed (after kq_vcpu_fail). */
typedef int (*kq_exit_fn)(void *ctx, struct kq_vcpu *v, struct kvm_run *run);

struct kq_vcpu {
	struct kq_vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int host_cpu;	    /* -1: not pinned */
	uint64_t exits[64]; /* by KVM_EXIT_* reason */
	uint64_t ucalls;
	bool done;
	char failure[512];
	struct kq_params *params; /* host view of its parameter page */
};

int kq_vm_create(struct kq_vm **out, struct kq_kvm *kvm, const struct kq_vm_config *cfg);
void kq_vm_destroy(struct kq_vm *vm);

int kq_vm_fd(const struct kq_vm *vm);
struct kq_kvm *kq_vm_kvm(const struct kq_vm *vm);
int kq_vm_nvcpus(const struct kq_vm *vm);
enum kq_irqchip kq_vm_irqchip(const struct kq_vm *vm);
struct kq_vcpu *kq_vm_vcpu(struct kq_vm *vm, int i);
int kq_vcpu_fd(const struct kq_vcpu *v);
int kq_vcpu_index(const struct kq_vcpu *v);
struct kq_vm *kq_vcpu_vm(const struct kq_vcpu *v);
uint64_t kq_vm_tsc_khz(const struct kq_vm *vm);
/* Host address of [gpa, gpa + len) inside guest RAM, or NULL. */
void *kq_vm_gpa_to_hva(struct kq_vm *vm, uint64_t gpa, uint64_t len);
const struct kq_mem *kq_vm_test_mem(const struct kq_vm *vm);

int kq_vm_register_pio(struct kq_vm *vm, uint16_t base, uint16_t len, kq_pio_fn fn, void *ctx);
int kq_vm_register_mmio(struct kq_vm *vm, uint64_t base, uint64_t len, kq_mmio_fn fn, void *ctx);
void kq_vm_set_ucall_handler(struct kq_vm *vm, kq_ucall_fn fn, void *ctx);
/* Handles exit reason `reason` (below 64) where the vmm would otherwise fail. */
int kq_vm_register_exit(struct kq_vm *vm, uint32_t reason, kq_exit_fn fn, void *ctx);

/* Runs every vCPU on its own thread until all reach DONE, one fails, or the
 * watchdog fires. 0 when all finished; -1 with kq_vm_failure() otherwise. */
int kq_vm_run(struct kq_vm *vm);
const char *kq_vm_failure(const struct kq_vm *vm);
/* Nanoseconds from the start of kq_vm_create to the first exit of vCPU 0 (its
 * BOOT ucall, the guest's first I/O instruction). */
uint64_t kq_vm_startup_ns(const struct kq_vm *vm);

/* Records a vCPU failure with its registers and asks all vCPUs to stop. */
void kq_vcpu_fail(struct kq_vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Stops every vCPU (from any thread): immediate_exit plus a signal. */
void kq_vm_stop(struct kq_vm *vm);

/* Names for messages. */
const char *kq_exit_reason_name(uint32_t reason);
const char *kq_exception_name(unsigned vector);
uint64_t kq_page_size_bytes(enum kq_pagesz p);
const char *kq_page_size_name(enum kq_pagesz p);
int kq_page_size_parse(const char *s);

#endif
