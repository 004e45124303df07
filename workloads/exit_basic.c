/* The first exit benchmarks: CPUID (a leaf KVM handles in the kernel) and a
 * port write our userspace handles, with the bare reference loop beside it. */
#include "workloads/reference.h"
#include "workloads/vmhost.h"

#include <stdio.h>

static const struct kq_kind_label labels[] = {
    {"cpuid", "kernel"},
    {"pio-user", "userspace"},
    {NULL, NULL},
};

static const struct kq_param_spec cpuid_params[] = {
    {"leaf", KQ_PT_U64, "CPUID leaf to execute (default 0; KVM answers it in the kernel)"},
    {NULL, 0, NULL},
};

static void run_cpuid(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct kq_guest_opts go = {.labels = labels};
	go.args[0] = (uint64_t)kq_test_param_int(t, "leaf", 0);
	kq_guest_run(t, o, res, &go);
}

static const struct kq_driver exit_cpuid = {
    .name = "exit.cpuid",
    .summary = "CPUID round trip, handled in the kernel",
    .needs_kvm = true,
    .params = cpuid_params,
    .run = run_cpuid,
};
KQ_DRIVER(exit_cpuid)

/* The device behind the benchmark port: accepts and discards writes. */
static int bench_port(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
		      bool is_write)
{
	return 0;
}

static int pio_setup(struct kq_guest_run *g, void *ctx)
{
	return kq_vm_register_pio(g->vm, KQ_PIO_BENCH_PORT, 1, bench_port, NULL);
}

static const struct kq_param_spec pio_params[] = {
    {"reference", KQ_PT_BOOL, "also run the bare KVM_RUN reference loop (default yes)"},
    {NULL, 0, NULL},
};

void kq_add_reference(const struct kq_test *t, const struct kq_run_opts *o, struct kq_result *res,
		      enum kq_reference_kind kind, const char *metric, const char *ref_name)
{
	static struct kq_reference ref;
	char err[256];
	if (kq_reference_run(kind, kq_test_time_goal_ms(t, o), &ref, err, sizeof(err)) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		return;
	}
	json_t *rm = kq_add_cycle_samples(res, ref_name, ref.totals, ref.n, ref.batch, ref.tsc_khz,
					  ref_name, "userspace");
	char ns_name[96];
	snprintf(ns_name, sizeof(ns_name), "%s.ns", ref_name);
	json_object_set_new(json_object_get(rm, "labels"), "reference", json_true());
	json_object_set_new(json_object_get(kq_result_find_metric(res, ns_name), "labels"),
			    "reference", json_true());
	json_t *mm = kq_result_find_metric(res, metric);
	double ours = kq_metric_median(mm), base = kq_metric_median(rm);
	if (mm && base > 0) {
		json_t *r = kq_result_add_value(res, "ratio_vs_reference", "ratio", ours / base);
		json_object_set(json_object_get(r, "labels"), "kind",
				json_object_get(json_object_get(mm, "labels"), "kind"));
	}
}

static void run_pio_user(const struct kq_driver *d, const struct kq_test *t,
			 const struct kq_run_opts *o, struct kq_result *res)
{
	struct kq_guest_opts go = {.labels = labels, .setup = pio_setup};
	if (kq_guest_run(t, o, res, &go) < 0)
		return;
	if (kq_test_param_bool(t, "reference", true))
		kq_add_reference(t, o, res, KQ_REF_PIO, "pio-user.cycles", "reference.pio-user");
}

static const struct kq_driver exit_pio_user = {
    .name = "exit.pio-user",
    .summary = "port write handled in our userspace, with the bare reference loop",
    .needs_kvm = true,
    .params = pio_params,
    .run = run_pio_user,
};
KQ_DRIVER(exit_pio_user)
