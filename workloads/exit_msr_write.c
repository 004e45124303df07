/* Host hooks of the WRMSR kinds kvm-unit-tests' x86/vmexit.c times (rows in
 * workloads/exit_table.def, guest side in workloads/exit_msr_write.guest.c):
 * each speculation-control MSR exists for the guest only where its CPUID (or
 * ARCH_CAPABILITIES) says so; without it the WRMSR would #GP, so the kind
 * SKIPs and names the bit. */
#include "workloads/exit_common.h"
#include "vmm/err.h"

#define MSR_ARCH_CAPABILITIES 0x10a
#define ARCH_CAP_TSX_CTRL_MSR (1ULL << 7)

/* Intel's CPUID 7.0 EDX bit 26 enumerates both IBRS and IBPB; AMD has a bit
 * for each in 0x80000008 EBX. KVM offers the guest SPEC_CTRL and PRED_CMD
 * when either says so. */
static int spec_ctrl_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	static const struct kq_cpuid_bit ibrs[] = {
	    {7, 3, 26, "IBRS/IBPB"},
	    {0x80000008, 1, 14, "AMD IBRS"},
	};
	return kq_exit_need_any_cpuid(c, g, ibrs, 2);
}

static int pred_cmd_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	static const struct kq_cpuid_bit ibpb[] = {
	    {7, 3, 26, "IBRS/IBPB"},
	    {0x80000008, 1, 12, "AMD IBPB"},
	};
	return kq_exit_need_any_cpuid(c, g, ibpb, 2);
}

/* TSX_CTRL exists where ARCH_CAPABILITIES (CPUID 7.0 EDX bit 29) has
 * TSX_CTRL_MSR (bit 7); the value is the one KVM gives vCPU 0. */
static int tsx_ctrl_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (kq_exit_need_cpuid(c, g, 7, 3, 29, "ARCH_CAPABILITIES") < 0)
		return -1;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr = {.nmsrs = 1}, .e = {.index = MSR_ARCH_CAPABILITIES}};
	int n = KQ_IOCTL(kq_vcpu_fd(kq_vm_vcpu(g->vm, 0)), KVM_GET_MSRS, &m);
	if (n != 1) {
		kq_result_set_status(
		    c->res, KQ_FAIL, "reading vCPU 0's IA32_ARCH_CAPABILITIES (0x%x): %s",
		    MSR_ARCH_CAPABILITIES, n < 0 ? kq_err() : "KVM returned no value");
		return -1;
	}
	if (!(m.e.data & ARCH_CAP_TSX_CTRL_MSR)) {
		kq_result_set_status(c->res, KQ_SKIP,
				     "ARCH_CAPABILITIES TSX_CTRL: bit 7 of the guest's "
				     "IA32_ARCH_CAPABILITIES (0x%llx) is clear, so it has no "
				     "IA32_TSX_CTRL",
				     (unsigned long long)m.e.data);
		return -1;
	}
	return 0;
}

const struct kq_exit_hooks kq_exit_hooks_spec_ctrl = {.setup = spec_ctrl_setup};
const struct kq_exit_hooks kq_exit_hooks_pred_cmd = {.setup = pred_cmd_setup};
const struct kq_exit_hooks kq_exit_hooks_tsx_ctrl = {.setup = tsx_ctrl_setup};
