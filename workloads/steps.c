/* The `steps` workload: runs a suite.conf step script in the guest and
 * reports each step's duration (see core/steps_parse.h for the ops). */
#include "workloads/vmhost.h"

static int discard(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
		   bool is_write)
{
	return 0;
}

static int steps_setup(struct kq_guest_run *g, void *ctx)
{
	/* `pio` steps write to the benchmark port: a device that discards them. */
	return kq_vm_register_pio(g->vm, KQ_PIO_BENCH_PORT, 1, discard, NULL);
}

static void run_steps(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct kq_guest_opts go = {.setup = steps_setup};
	kq_guest_run(t, o, res, &go);
}

static const struct kq_driver steps_driver = {
    .name = "steps",
    .summary = "a step script from suite.conf (cpuid, pio, spin, touch, sync), each step timed",
    .needs_kvm = true,
    .run = run_steps,
};
KQ_DRIVER(steps_driver)
