/* Guest side of exit scaling: every vCPU of the VM measures the same exit at
 * the same time, so the host's shared paths (locks, the VMM's dispatch) are
 * contended the way a busy multi-vCPU guest contends them. The exit is a
 * plain-loop row of workloads/exit_table.def, named by its id. */
#include "workloads/exit_guest.h"

static volatile uint32_t arrived;

static void exit_scaling(struct kq_params *p)
{
	uint64_t id = p->args[KQ_SCALE_ROW_ARG];
	KQ_GUEST_ASSERT(id < KQ_EXIT_COUNT && kq_exit_guest_rows[id].loop);
	/* Start together: without the barrier, vCPUs that boot first would
	 * measure an uncontended host. */
	__atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < p->nr_vcpus)
		kq_pause();
	kq_measure(kq_exit_guest_rows[id].kind, kq_exit_guest_rows[id].loop, p);
}
KQ_GUEST_WORKLOAD("exit.scaling", exit_scaling);
