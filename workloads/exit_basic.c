/* Host hooks of the first exit kinds (rows in workloads/exit_table.def):
 * CPUID of a chosen leaf, which KVM answers in the kernel, and a port write
 * our userspace handles, with the bare reference loop beside it. */
#include "workloads/exit_common.h"
#include "workloads/reference.h"
#include "vmm/err.h"

#include <stdio.h>

static const struct kq_param_spec cpuid_params[] = {
    {"leaf", KQ_PT_U64, "CPUID leaf to execute (default 0; KVM answers it in the kernel)"},
    {NULL, 0, NULL},
};

/* The guest's loop reads the leaf from args[0]. */
static int cpuid_prepare(struct kq_exit_ctx *c)
{
	c->go.args[0] = (uint64_t)kq_test_param_int(c->t, "leaf", 0);
	return 0;
}

const struct kq_exit_hooks kq_exit_hooks_cpuid = {.params = cpuid_params, .prepare = cpuid_prepare};

/* The device behind the benchmark port: accepts and discards writes. */
static int bench_port(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
		      bool is_write)
{
	return 0;
}

int kq_exit_pio_user_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (kq_vm_register_pio(g->vm, KQ_PIO_BENCH_PORT, 1, bench_port, NULL) < 0) {
		kq_result_set_status(c->res, KQ_FAIL, "%s", kq_err());
		return -1;
	}
	return 0;
}

static const struct kq_param_spec pio_params[] = {
    {"reference", KQ_PT_BOOL, "also run the bare KVM_RUN reference loop (default yes)"},
    {NULL, 0, NULL},
};

static void pio_user_finish(struct kq_exit_ctx *c, bool ran)
{
	if (ran)
		kq_exit_add_reference(c, KQ_REF_PIO);
}

const struct kq_exit_hooks kq_exit_hooks_pio_user = {
    .params = pio_params,
    .setup = kq_exit_pio_user_setup,
    .finish = pio_user_finish,
};
