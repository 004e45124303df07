/* Host side shared by every guest-workload driver: builds the VM a test
 * declares, runs it, and turns the guest's ucalls into result metrics. */
#ifndef KQ_WORKLOADS_VMHOST_H
#define KQ_WORKLOADS_VMHOST_H

#include "core/test.h"
#include "vmm/vm.h"

struct kq_guest_run;

/* Per-exit-kind labels: where the measured exit is handled. */
struct kq_kind_label {
	const char *kind;
	const char *handled_in; /* "kernel", "userspace", "none" */
};

struct kq_guest_opts {
	const char *guest_workload; /* defaults to the test's workload name */
	uint64_t args[KQ_MAX_ARGS];
	enum kq_irqchip irqchip;
	const struct kq_kind_label *labels; /* NULL-kind terminated, may be NULL */
	/* Called after the VM is built, before it runs: register handlers here.
	 * Return -1 after setting the result's status to stop. */
	int (*setup)(struct kq_guest_run *g, void *ctx);
	void *ctx;
};

struct kq_guest_run {
	const struct kq_test *t;
	const struct kq_run_opts *o;
	struct kq_result *res;
	struct kq_kvm kvm;
	struct kq_vm *vm;
	const struct kq_guest_opts *opts;
	uint64_t tsc_khz;
};

/* Opens KVM, checks `requires`, builds and runs the VM, records metrics.
 * Returns 0 when the guest finished; -1 when the result is FAIL or SKIP. */
int kq_guest_run(const struct kq_test *t, const struct kq_run_opts *o, struct kq_result *res,
		 const struct kq_guest_opts *go);

/* Adds "<name>.cycles" and "<name>.ns" sample metrics from per-batch cycle
 * totals divided by the batch size; returns the cycles metric. */
json_t *kq_add_cycle_samples(struct kq_result *res, const char *name, const uint64_t *totals,
			     size_t n, uint64_t divisor, uint64_t tsc_khz, const char *kind,
			     const char *handled_in);
double kq_metric_median(const json_t *metric);

#endif
