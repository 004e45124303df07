/* Guest side of exit scaling: every vCPU of the VM measures the same exit at
 * the same time, so the host's shared paths (locks, the VMM's dispatch) are
 * contended the way a busy multi-vCPU guest contends them. */
#include "workloads/exit_lapic.h"
#include "workloads/exit_loops.h"

static volatile uint32_t arrived;

static void cpuid_loop(void *ctx, uint64_t iters)
{
	uint32_t r[4];
	for (uint64_t i = 0; i < iters; i++)
		kq_cpuid(0, 0, r);
}

/* args[0]: enum kq_exit_scaling_kind. */
static void exit_scaling(struct kq_params *p)
{
	/* Start together: without the barrier, vCPUs that boot first would
	 * measure an uncontended host. */
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < p->nr_vcpus)
		kq_pause();
	if (p->args[0] == KQ_SCALE_PIO_USER)
		kq_measure("pio-user", kq_pio_user_loop, 0);
	else
		kq_measure("cpuid", cpuid_loop, 0);
}
KQ_GUEST_WORKLOAD("exit.scaling", exit_scaling);
