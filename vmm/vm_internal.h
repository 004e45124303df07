/* The VM's state, shared by vm.c (creation, memory), vcpu.c (long-mode set-up,
 * threads, watchdog) and exit.c (dispatch). Not part of the library's API. */
#ifndef KQ_VMM_VM_INTERNAL_H
#define KQ_VMM_VM_INTERNAL_H

#include "vmm/pagetable.h"
#include "vmm/vm.h"

#include <stdatomic.h>

#define KQ_MAX_HANDLERS 16

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
	struct kq_mem sys;  /* slot 0 at GPA 0: layout.h below KQ_PT_BASE + page tables */
	struct kq_mem test; /* slot 1 at KQ_TEST_GPA */
	struct kq_pt pt;
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

	uint64_t t_create_ns;
	_Atomic uint64_t t_first_exit_ns;
	atomic_bool stopping;
	atomic_bool watchdog_fired;
	pthread_mutex_t lock; /* guards failure and the handler callbacks */
	char failure[1024];
};

uint64_t kq_now_ns(void);
/* Sets up registers, CPUID and the parameter page of vCPU i. */
int kq_vcpu_init(struct kq_vm *vm, struct kq_vcpu *v, int i);
void kq_vcpu_destroy(struct kq_vcpu *v);
/* Handles one exit; returns 1 to keep running, 0 when the vCPU is done, -1 on failure. */
int kq_vcpu_handle_exit(struct kq_vcpu *v);
/* Appends "RIP 0x… RSP 0x… CR0 …" to buf (best effort). */
void kq_vcpu_describe_regs(struct kq_vcpu *v, char *buf, size_t len);

#endif
