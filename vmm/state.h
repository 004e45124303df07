/* Saving and restoring everything a VM's vCPUs and in-kernel devices need to
 * continue in another VM, possibly in another process: registers, system
 * registers, FPU/XSAVE, XCRs, MSRs, LAPIC, pending events, MP state, debug
 * registers, TSC, CPUID, nested state, the in-kernel PIC/IOAPIC/PIT and the
 * VM clock. Guest memory is not part of the state (migration sends it
 * separately). Records, byte format and inspection: vmm/state_record.h;
 * what is captured, the restore order and its reasons: docs/state.md.
 *
 * Both calls require that no vCPU of the VM is inside KVM_RUN (no vCPU
 * thread running, or all of them stopped) for their whole duration, and
 * that the exit each vCPU last returned has been handled (for a port or
 * MMIO read, the data is in kvm_run): saving first completes that exit with
 * KVM_RUN and immediate_exit, since KVM makes the registers consistent only
 * then (an OUT's RIP is advanced on re-entry). */
#ifndef KQ_VMM_STATE_H
#define KQ_VMM_STATE_H

#include "vmm/state_record.h"
#include "vmm/vm.h"

/* Saves the VM's state into a new *out (free with kq_state_free). */
int kq_state_save(struct kq_vm *vm, struct kq_state **out);
/* Restores a saved state into a freshly created VM of the same configuration
 * (vCPU count, irqchip, memory layout) whose vCPUs have not run yet. */
int kq_state_restore(struct kq_vm *vm, const struct kq_state *s);

/* True when this host's kernel has marked its TSC unstable (no "tsc" among
 * the available clocksources): KVM then stops a guest's TSC while its vCPU
 * is off the CPU (kvm_arch_vcpu_load), so a pause does not show in the
 * guest's TSC however the state is restored. False when it cannot tell. */
bool kq_host_tsc_unstable(void);

#endif
