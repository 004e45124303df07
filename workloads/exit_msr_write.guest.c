/* Guest side of the WRMSRs kvm-unit-tests' x86/vmexit.c times (rows in
 * workloads/exit_table.def): KERNEL_GS_BASE, which KVM passes through, and
 * the speculation controls whose cost a mitigations-on/off comparison is
 * about: SPEC_CTRL (IBRS on and off), PRED_CMD (an IBPB) and TSX_CTRL. The
 * host skips each kind whose feature the guest's CPUID lacks. */
#include "workloads/exit_guest.h"
#include "workloads/exit_lapic.h"

#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_SPEC_CTRL	   0x48u
#define MSR_PRED_CMD	   0x49u
#define MSR_TSX_CTRL	   0x122u
#define SPEC_CTRL_IBRS	   1u
#define PRED_CMD_IBPB	   1u

void kq_exit_kernel_gs_base_write_loop(void *ctx, uint64_t iters)
{
	/* The runtime never executes SWAPGS: the value is unused. */
	for (uint64_t i = 0; i < iters; i++)
		kq_wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* Two writes per iteration, as kvm-unit-tests' wr_ibrs_msr: IBRS on, off. */
void kq_exit_spec_ctrl_write_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++) {
		kq_wrmsr(MSR_SPEC_CTRL, SPEC_CTRL_IBRS);
		kq_wrmsr(MSR_SPEC_CTRL, 0);
	}
}

void kq_exit_pred_cmd_write_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		kq_wrmsr(MSR_PRED_CMD, PRED_CMD_IBPB);
}

static void tsx_ctrl_loop(void *ctx, uint64_t iters)
{
	uint64_t v = *(uint64_t *)ctx;
	for (uint64_t i = 0; i < iters; i++)
		kq_wrmsr(MSR_TSX_CTRL, v);
}

/* Writes back the value it reads, so TSX stays as the host configured it. */
void kq_exit_tsx_ctrl_write(struct kq_params *p, const char *kind)
{
	uint64_t v = kq_rdmsr(MSR_TSX_CTRL);
	kq_measure(kind, tsx_ctrl_loop, &v);
}
