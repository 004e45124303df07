/* A VM: memory slots, page tables, long-mode vCPUs, run control (threads,
 * pause, single steps), a watchdog, exit dispatch, the ucall channel and
 * dirty tracking. Knows nothing about tests. The whole API: docs/vmm.md.
 *
 * Errors: functions return -1 (or NULL) with a thread-local message
 * (vmm/err.h); kq_err_is_unavailable() marks what the host lacks (a SKIP). */
#ifndef KQ_VMM_VM_H
#define KQ_VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest/abi.h"
#include "vmm/dirty.h"
#include "vmm/kvm.h"
#include "vmm/memory.h"
#include "vmm/slots.h"

enum kq_irqchip { KQ_IRQCHIP_NONE, KQ_IRQCHIP_KERNEL, KQ_IRQCHIP_SPLIT };

struct kq_vm;
struct kq_vcpu; /* opaque: see the kq_vcpu_* accessors below */

struct kq_vm_config {
	int vcpus;
	uint64_t test_mem;	  /* bytes of test memory at KQ_TEST_GPA; 0 for none */
	enum kq_backing backing;  /* of the test memory */
	enum kq_pagesz page_size; /* guest page size mapping the test memory */
	enum kq_irqchip irqchip;
	bool xsave;	      /* set CR4.OSXSAVE (needs CPUID XSAVE) */
	double time_limit_s;  /* watchdog from kq_vm_start / the first run_once; 0: none */
	const int *cpus;      /* host CPU per vCPU, or NULL: not pinned */
	const char *workload; /* guest workload name (guest/guest.h) */
	uint64_t args[KQ_MAX_ARGS];
	const struct kq_step *steps;
	int nsteps;
	uint64_t time_goal_cycles;
	enum kq_dirty_mode dirty;    /* dirty tracking (vmm/dirty.h); NONE by default */
	uint32_t dirty_ring_entries; /* KQ_DIRTY_RING: entries per vCPU (power of 2); 0: 4096 */
};

/* Handlers for userspace exits, kvmtool-style: registered by address range. */
typedef int (*kq_pio_fn)(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
			 bool is_write);
typedef int (*kq_mmio_fn)(void *ctx, struct kq_vcpu *v, uint64_t addr, uint8_t *data, int len,
			  bool is_write);
/* Non-control ucalls (RESULT, SAMPLES, PRINT, SYNC, STEP) in thread mode.
 * Return 0 to go on, -1 to stop the VM as failed (after kq_vcpu_fail). */
typedef int (*kq_ucall_fn)(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc);
/* Exits the vmm has no handler of its own for (KVM_EXIT_X86_RDMSR once a test
 * routes MSRs to userspace, say), called on the vCPU's thread without the VM
 * lock. Return 0 to go on, -1 to stop the VM as failed (after kq_vcpu_fail). */
typedef int (*kq_exit_fn)(void *ctx, struct kq_vcpu *v, struct kvm_run *run);

/* --- VM --------------------------------------------------------------- */
int kq_vm_create(struct kq_vm **out, struct kq_kvm *kvm, const struct kq_vm_config *cfg);
/* Stops and joins any vCPU threads, then frees everything. */
void kq_vm_destroy(struct kq_vm *vm);

int kq_vm_fd(const struct kq_vm *vm);
struct kq_kvm *kq_vm_kvm(const struct kq_vm *vm);
int kq_vm_nvcpus(const struct kq_vm *vm);
enum kq_irqchip kq_vm_irqchip(const struct kq_vm *vm);
struct kq_vcpu *kq_vm_vcpu(struct kq_vm *vm, int i);
uint64_t kq_vm_tsc_khz(const struct kq_vm *vm);
const struct kq_mem *kq_vm_test_mem(const struct kq_vm *vm);
/* KVM_ENABLE_CAP on the VM with args[0] = arg0; the error names the capability. */
#define kq_vm_enable_cap(vm, cap, arg0) kq_vm_enable_cap_named((vm), (cap), (arg0), #cap)
int kq_vm_enable_cap_named(struct kq_vm *vm, uint32_t cap, uint64_t arg0, const char *name);
/* KVM_X86_SET_MSR_FILTER. */
int kq_vm_set_msr_filter(struct kq_vm *vm, const struct kvm_msr_filter *f);
/* KVM_GET_STATS_FD of the VM (the caller closes it). */
int kq_vm_stats_fd(struct kq_vm *vm);

int kq_vm_register_pio(struct kq_vm *vm, uint16_t base, uint16_t len, kq_pio_fn fn, void *ctx);
int kq_vm_register_mmio(struct kq_vm *vm, uint64_t base, uint64_t len, kq_mmio_fn fn, void *ctx);
void kq_vm_set_ucall_handler(struct kq_vm *vm, kq_ucall_fn fn, void *ctx);
/* Handles exit reason `reason` (below 64) where the vmm would otherwise fail. */
int kq_vm_register_exit(struct kq_vm *vm, uint32_t reason, kq_exit_fn fn, void *ctx);

/* --- run control -------------------------------------------------------- */
/* Runs every vCPU on its own thread until all reach DONE, one fails, or the
 * watchdog fires (kq_vm_start + kq_vm_wait without a timeout). 0 when all
 * finished; -1 with kq_vm_failure() otherwise. */
int kq_vm_run(struct kq_vm *vm);
/* Starts one thread per vCPU and arms the watchdog; returns at once. */
int kq_vm_start(struct kq_vm *vm);
/* Waits for the threads of kq_vm_start: 0 all reached DONE, -1 one failed or
 * was stopped (kq_vm_failure, also in kq_err), 1 timeout_s passed first (they
 * run on; wait again). timeout_s < 0: no timeout. */
int kq_vm_wait(struct kq_vm *vm, double timeout_s);
/* Makes every vCPU thread leave KVM_RUN and park; on return none is inside
 * KVM_RUN (state can be read or saved) until kq_vm_resume. */
int kq_vm_pause(struct kq_vm *vm);
int kq_vm_resume(struct kq_vm *vm);
/* Stops every vCPU (from any thread): immediate_exit plus a signal. Sticky
 * until the next kq_vm_start. */
void kq_vm_stop(struct kq_vm *vm);
const char *kq_vm_failure(const struct kq_vm *vm);
/* Nanoseconds from the start of kq_vm_create to the first exit of vCPU 0 (its
 * BOOT ucall, the guest's first I/O instruction). */
uint64_t kq_vm_startup_ns(const struct kq_vm *vm);

enum kq_event_kind {
	KQ_EV_UCALL,   /* a ucall other than BOOT (DONE, ASSERT, EXCEPTION included) */
	KQ_EV_EXIT,    /* an exit the vmm has no handler for; see kq_vcpu_kvm_run */
	KQ_EV_FAILED,  /* a registered handler failed: kq_vcpu_failure */
	KQ_EV_STOPPED, /* kq_vm_stop or the watchdog stopped the VM */
};

struct kq_vcpu_event {
	enum kq_event_kind kind;
	uint32_t exit_reason; /* KVM_EXIT_* that ended the run */
	uint32_t ucall;	      /* KQ_UC_* for KQ_EV_UCALL */
	struct kq_ucall *uc;  /* the message (host view); valid until the next run */
	uint64_t ucall_gpa;
};
/* Runs vCPU v on the caller's thread until an exit or ucall the vmm does not
 * handle itself (it handles BOOT, registered PIO/MMIO/exit handlers and full
 * dirty rings); the VM's ucall handler is not called. An MMIO or PIO exit
 * returned here completes at the next run (fill kvm_run's data for reads).
 * 0 with *ev, -1 when KVM_RUN itself failed or vCPU threads are running. */
int kq_vcpu_run_once(struct kq_vcpu *v, struct kq_vcpu_event *ev);
/* Writes args[i] of the vCPU's last ucall message (the guest reads it when
 * the ucall returns) and marks it dirty. */
int kq_vcpu_ucall_reply(struct kq_vcpu *v, int i, uint64_t value);

/* --- vCPU accessors and wrappers --------------------------------------- */
int kq_vcpu_fd(const struct kq_vcpu *v);
int kq_vcpu_index(const struct kq_vcpu *v);
struct kq_vm *kq_vcpu_vm(const struct kq_vcpu *v);
/* Host view of its parameter page; the page counts as written by the vmm. */
struct kq_params *kq_vcpu_params(struct kq_vcpu *v);
struct kvm_run *kq_vcpu_kvm_run(struct kq_vcpu *v);
/* Exits of KVM_EXIT_* reason seen in userspace (reason below 64). */
uint64_t kq_vcpu_exit_count(const struct kq_vcpu *v, uint32_t reason);
uint64_t kq_vcpu_ucall_count(const struct kq_vcpu *v);
bool kq_vcpu_done(const struct kq_vcpu *v);
/* Its failure text, "" when none. */
const char *kq_vcpu_failure(const struct kq_vcpu *v);
int kq_vcpu_get_regs(struct kq_vcpu *v, struct kvm_regs *r);
int kq_vcpu_set_regs(struct kq_vcpu *v, const struct kvm_regs *r);
int kq_vcpu_get_sregs(struct kq_vcpu *v, struct kvm_sregs *s);
int kq_vcpu_set_sregs(struct kq_vcpu *v, const struct kvm_sregs *s);
/* KVM_GET_CPUID2 into a malloc'd list (the caller frees it), or NULL. */
struct kvm_cpuid2 *kq_vcpu_get_cpuid(struct kq_vcpu *v);
int kq_vcpu_set_cpuid(struct kq_vcpu *v, const struct kvm_cpuid2 *c);
#define kq_vcpu_enable_cap(v, cap, arg0) kq_vcpu_enable_cap_named((v), (cap), (arg0), #cap)
int kq_vcpu_enable_cap_named(struct kq_vcpu *v, uint32_t cap, uint64_t arg0, const char *name);
/* KVM_GET_STATS_FD of the vCPU (the caller closes it). */
int kq_vcpu_stats_fd(struct kq_vcpu *v);
/* Records a vCPU failure with its registers and asks all vCPUs to stop. */
void kq_vcpu_fail(struct kq_vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends "RIP 0x… RSP 0x… CR0 …" to buf (best effort). */
void kq_vcpu_describe_regs(struct kq_vcpu *v, char *buf, size_t len);

/* --- several VMs --------------------------------------------------------- */
/* Runs fn(kvm, ctx) in a forked child (which builds its own VMs from the
 * inherited kvm) and waits for it, killing it after time_limit_s (0: no
 * limit). 0 with *status = its exit code; -1 when it could not start, was
 * killed by a signal or ran past the limit (the error says which). */
int kq_run_in_child(struct kq_kvm *kvm, int (*fn)(struct kq_kvm *kvm, void *ctx), void *ctx,
		    double time_limit_s, int *status);

/* Names for messages. */
const char *kq_exit_reason_name(uint32_t reason);
const char *kq_exception_name(unsigned vector);
uint64_t kq_page_size_bytes(enum kq_pagesz p);
const char *kq_page_size_name(enum kq_pagesz p);
int kq_page_size_parse(const char *s);

#endif
