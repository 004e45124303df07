/* The VM's state, shared by the vmm's own files (vm.c creation, slots.c,
 * vm_pt.c, dirty.c, vcpu.c long-mode set-up, run.c threads and watchdog,
 * exit.c dispatch). Not part of the library's API: callers use vmm/vm.h. */
#ifndef KQ_VMM_VM_INTERNAL_H
#define KQ_VMM_VM_INTERNAL_H

#include "vmm/pagetable.h"
#include "vmm/vm.h"

#include <stdatomic.h>

#define KQ_MAX_HANDLERS 16

struct kq_vcpu {
	struct kq_vm *vm;
	int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread; /* its own thread, between kq_vm_start and kq_vm_wait */
	/* The thread now running KVM_RUN on this vCPU (its own, or a run_once
	 * caller's), for kicks; kick_lock keeps it alive while signalled. */
	pthread_mutex_t kick_lock;
	pthread_t runner;
	bool has_runner;
	int host_cpu;	    /* -1: not pinned */
	uint64_t exits[64]; /* by KVM_EXIT_* reason */
	uint64_t ucalls;
	uint64_t last_ucall_gpa;
	atomic_bool done;
	char failure[512];
	struct kq_params *params;   /* host view of its parameter page */
	struct kvm_dirty_gfn *ring; /* dirty ring (KQ_DIRTY_RING), or NULL */
	uint32_t ring_fetch;	    /* next ring entry to harvest */
	/* ring_fetch at the last KVM_EXIT_DIRTY_RING_FULL that found nothing to
	 * harvest (another vCPU's thread had taken the entries), if any. */
	uint32_t ring_full_fetch;
	bool ring_full_idle;
};

struct kq_slot {
	bool used;
	uint64_t gpa;
	uint32_t flags;
	struct kq_mem mem; /* owned */
	char name[32];
	uint64_t *dirty; /* pending dirty pages, when tracked (dirty.c) */
	uint64_t dirty_words;
};

struct kq_pio_range {
	uint16_t base, len;
	kq_pio_fn fn;
	void *ctx;
};

struct kq_mmio_range {
	uint64_t base, len;
	kq_mmio_fn fn;
	void *ctx;
};

struct kq_vm {
	struct kq_kvm *kvm;
	struct kq_vm_config cfg;
	int fd;
	uint64_t tsc_khz;

	/* Slots (slots.c): indexed by KVM slot id, grown up to max_slots. */
	pthread_rwlock_t slots_lock;
	struct kq_slot *slots;
	int slots_cap;
	int max_slots;
	int sys_slot, test_slot; /* the config's slots; test_slot -1 when none */
	uint32_t slot_flags;	 /* flags of the slots the vmm creates itself */
	struct kq_mem no_mem;	 /* what kq_vm_test_mem answers without a test slot */

	/* Page tables (vm_pt.c). */
	pthread_mutex_t pt_lock;
	struct kq_pt pt;
	int pt_chunks;

	/* Dirty tracking (dirty.c). */
	pthread_mutex_t dirty_lock;
	enum kq_dirty_mode dirty_mode;
	bool dirty_init_set;
	uint32_t ring_entries;
	struct kq_dirty_stats dirty_stats; /* under dirty_lock */

	uint64_t entry; /* guest entry point */
	uint64_t isr_table;
	struct kq_vcpu *vcpus;
	int nvcpus;

	struct kq_pio_range pio[KQ_MAX_HANDLERS];
	int npio;
	struct kq_mmio_range mmio[KQ_MAX_HANDLERS];
	int nmmio;
	kq_ucall_fn ucall_fn;
	void *ucall_ctx;
	kq_exit_fn exit_fn[64]; /* by KVM_EXIT_* reason, see kq_vm_register_exit */
	void *exit_ctx[64];

	/* Run control (run.c). run_lock guards the counters, the pause request,
	 * the watchdog's deadline; run_cond signals any change of them. */
	pthread_mutex_t run_lock;
	pthread_cond_t run_cond;
	bool threads; /* vCPU threads started and not yet joined */
	int live;     /* of those, not finished */
	int parked;   /* of those, parked by kq_vm_pause */
	bool pause_req;
	uint64_t deadline_ns; /* watchdog: 0 when not armed */
	bool wd_started, closing;
	pthread_t wd_thread;

	uint64_t t_create_ns;
	_Atomic uint64_t t_first_exit_ns;
	atomic_bool stopping;
	atomic_bool watchdog_fired;
	pthread_mutex_t lock; /* guards failure and the handler callbacks */
	char failure[1024];
};

uint64_t kq_now_ns(void);
/* kq_now_ns() + seconds, saturating at UINT64_MAX (never wraps). */
uint64_t kq_deadline_ns(double seconds);
/* Sets up registers, CPUID and the parameter page of vCPU i. */
int kq_vcpu_init(struct kq_vm *vm, struct kq_vcpu *v, int i);
void kq_vcpu_destroy(struct kq_vcpu *v);
/* One exit in the vmm: 1 handled (run on), 0 `ev` is for the caller to
 * decide, -1 a handler failed (recorded with kq_vcpu_fail). */
int kq_exit_dispatch(struct kq_vcpu *v, struct kq_vcpu_event *ev);
/* Thread mode: handles one exit; 1 keep running, 0 done, -1 failure. */
int kq_vcpu_handle_exit(struct kq_vcpu *v);
/* Run control (run.c). */
void kq_run_init(struct kq_vm *vm);
void kq_run_destroy(struct kq_vm *vm);

/* Slots (slots.c), page tables (vm_pt.c), dirty tracking (dirty.c). */
void kq_slots_destroy(struct kq_vm *vm);
int kq_vm_pt_init(struct kq_vm *vm);
int kq_dirty_setup(struct kq_vm *vm);
int kq_dirty_vcpu_init(struct kq_vm *vm, struct kq_vcpu *v);
void kq_dirty_vcpu_destroy(struct kq_vm *vm, struct kq_vcpu *v);
int kq_dirty_slot_init(struct kq_vm *vm, struct kq_slot *s);
void kq_dirty_slot_free(struct kq_slot *s);
int kq_dirty_slot_resized(struct kq_vm *vm, struct kq_slot *s);
/* KVM's dirty pages of slot id into its pending bitmap; slots lock held. */
int kq_dirty_slot_fetch(struct kq_vm *vm, int id);
/* KVM_EXIT_DIRTY_RING_FULL on v: harvests every ring and resets them; an
 * error when v's ring had nothing to harvest (the host overflowed it). */
int kq_dirty_ring_full(struct kq_vm *vm, struct kq_vcpu *v);

#endif
