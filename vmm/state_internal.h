/* Shared by state.c (save) and state_restore.c. Not part of the API. */
#ifndef KQ_VMM_STATE_INTERNAL_H
#define KQ_VMM_STATE_INTERNAL_H

#include "vmm/state.h"

#include <stdbool.h>

/* What this host's KVM offers for state transfer (KVM_CHECK_EXTENSION on
 * the VM fd, which answers for the VM's own configuration). */
struct kq_state_caps {
	bool sregs2;	  /* KVM_CAP_SREGS2 */
	int xsave2_size;  /* KVM_CAP_XSAVE2: KVM_GET_XSAVE2's buffer size; 0 if absent */
	bool xsave;	  /* KVM_CAP_XSAVE */
	bool xcrs;	  /* KVM_CAP_XCRS */
	int nested_max;	  /* KVM_CAP_NESTED_STATE: largest nested state; 0 if absent */
	bool tsc_control; /* KVM_CAP_TSC_CONTROL: KVM_SET_TSC_KHZ works */
};

int kq_state_caps_get(struct kq_vm *vm, struct kq_state_caps *c);
/* Whether the vCPU offers the KVM_VCPU_TSC_OFFSET attribute. */
bool kq_state_has_tsc_offset(int vcpu_fd);

#endif
