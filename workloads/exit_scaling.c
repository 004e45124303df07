/* Exit scaling: the same exit (a plain-loop row of workloads/exit_table.def,
 * with its host hooks) on 1, 2, 4 ... N vCPUs at once, pinned one per
 * core first and then on SMT siblings (policy "spread"), one VM per count.
 * Reports each vCPU's samples, the aggregate exits per second and its
 * efficiency against N independent single vCPUs: lock contention in KVM or
 * in our VMM shows as efficiency below 1. */
#include "workloads/exit_common.h"
#include "vmm/err.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

static const struct kq_param_spec scaling_params[] = {
    {"kind", KQ_PT_STRING,
     "an exit kind whose guest side is a plain loop (workloads/exit_table.def): cpuid "
     "(default; handled in the kernel), pio-user (our userspace), pio-kernel ..."},
    {"max_vcpus", KQ_PT_INT, "largest vCPU count (default: the CPUs this process may use)"},
    {NULL, 0, NULL},
};

/* The row's own host setup (pio-user's port, say), as its driver runs it. */
static int row_setup(struct kq_guest_run *g, void *ctx)
{
	struct kq_exit_ctx *c = ctx;
	c->res = g->res;
	return c->k->hooks->setup ? c->k->hooks->setup(c, g) : 0;
}

static int allowed_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

/* Copies the metrics of one vCPU count into the test's result. Names stay
 * the same across counts and vCPUs ("cpuid.ns", "exits_per_s"): labels.vcpus
 * and labels.vcpu tell them apart, which is how the reports pool per-vCPU
 * samples and draw one line against the vCPU count. */
static void merge_metrics(struct kq_result *res, const struct kq_result *sub, int n)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(sub->obj, "metrics"), i, m)
	{
		const char *name = json_string_value(json_object_get(m, "name"));
		json_t *copy = json_deep_copy(m);
		int vcpu = 0, skip = 0;
		/* Multi-vCPU VMs name samples "vcpu<i>.<kind>" (workloads/vmhost.c). */
		if (sscanf(name, "vcpu%d.%n", &vcpu, &skip) == 1 && skip > 0)
			json_object_set_new(copy, "name", json_string(name + skip));
		json_t *l = json_object_get(copy, "labels");
		if (!l) {
			l = json_object();
			json_object_set_new(copy, "labels", l);
		}
		json_object_set_new(l, "vcpus", json_integer(n));
		if (json_object_get(copy, "stats"))
			json_object_set_new(l, "vcpu", json_integer(vcpu));
		json_array_append_new(json_object_get(res->obj, "metrics"), copy);
	}
}

static double median_ns(const struct kq_result *sub, int n, int vcpu, const char *kind)
{
	char name[96];
	if (n == 1)
		snprintf(name, sizeof(name), "%s.ns", kind);
	else
		snprintf(name, sizeof(name), "vcpu%d.%s.ns", vcpu, kind);
	return kq_metric_median(kq_result_find_metric(sub, name));
}

static uint64_t iters_of(const struct kq_result *sub, int n, int vcpu, const char *kind)
{
	char name[64];
	if (n == 1)
		snprintf(name, sizeof(name), "%s", kind);
	else
		snprintf(name, sizeof(name), "vcpu%d.%s", vcpu, kind);
	return kq_exit_measured_iters(sub, name);
}

/* One vCPU count; returns 0 to go on, -1 to stop (status set on res). */
static int run_count(const struct kq_test *t, const struct kq_run_opts *o, struct kq_result *res,
		     const struct kq_exit_kind *k, int n, double *agg1)
{
	static struct kq_test tt;
	tt = *t;
	tt.vcpus = n;
	tt.pin = KQ_PIN_SPREAD;
	const char *kind = k->kind;
	struct kq_result sub;
	kq_result_init(&sub, t->name);
	struct kq_exit_ctx c = {.k = k, .test = &tt, .t = &tt, .o = o, .res = &sub};
	c.labels[0] = (struct kq_kind_label){k->kind, k->handled_in};
	c.go.guest_workload = "exit.scaling";
	c.go.labels = c.labels;
	c.go.irqchip = k->irqchip;
	c.go.setup = row_setup;
	c.go.ctx = &c;
	int rc = -1;
	if (!k->hooks->prepare || k->hooks->prepare(&c) == 0) {
		c.go.args[KQ_SCALE_ROW_ARG] = k->id;
		rc = kq_guest_run(&tt, o, &sub, &c.go);
	}
	char key[32];
	snprintf(key, sizeof(key), "vcpus%d", n);
	kq_result_set_evidence(res, key, json_deep_copy(json_object_get(sub.obj, "evidence")));
	enum kq_status st = kq_result_status(&sub);
	const char *why = json_string_value(json_object_get(sub.obj, "reason"));
	if (rc < 0 || st != KQ_PASS) {
		if (st == KQ_SKIP && n > 1)
			kq_result_diag(res, "vcpus = %d and beyond skipped: %s", n, why);
		else
			kq_result_set_status(res, st == KQ_SKIP ? KQ_SKIP : KQ_FAIL,
					     "vcpus = %d: %s", n, why && why[0] ? why : "failed");
		kq_result_free(&sub);
		return -1;
	}
	merge_metrics(res, &sub, n);
	double rate = 0;
	uint64_t iters = 0;
	for (int i = 0; i < n; i++) {
		double ns = median_ns(&sub, n, i, kind);
		iters += iters_of(&sub, n, i, kind);
		if (ns <= 0) {
			kq_result_set_status(res, KQ_FAIL, "vcpus = %d: vCPU %d sent no %s samples",
					     n, i, kind);
			kq_result_free(&sub);
			return -1;
		}
		rate += 1e9 / ns;
	}
	if (k->user_exit && k->user_expect == KQ_UEXIT_EACH) {
		/* Every measured access must have reached our userspace. */
		int64_t u = kq_exit_evidence_count(&sub, "userspace_exits", k->user_exit);
		if (u < (int64_t)iters) {
			kq_result_set_status(
			    res, KQ_FAIL, "vcpus = %d: %lld KVM_EXIT_%s for %llu measured %s", n,
			    (long long)u, k->user_exit, (unsigned long long)iters, kind);
			kq_result_free(&sub);
			return -1;
		}
	}
	if (n == 1)
		*agg1 = rate;
	json_t *l =
	    json_object_get(kq_result_add_value(res, "exits_per_s", "exits/s", rate), "labels");
	json_object_set_new(l, "vcpus", json_integer(n));
	json_object_set_new(l, "kind", json_string(kind));
	if (*agg1 > 0) {
		l = json_object_get(
		    kq_result_add_value(res, "efficiency", "ratio", rate / (n * *agg1)), "labels");
		json_object_set_new(l, "vcpus", json_integer(n));
		json_object_set_new(l, "kind", json_string(kind));
		json_object_set_new(l, "better",
				    json_string("higher")); /* a ratio, yet not a cost */
	}
	kq_result_free(&sub);
	return 0;
}

static void run_scaling(const struct kq_driver *d, const struct kq_test *t,
			const struct kq_run_opts *o, struct kq_result *res)
{
	/* The one look-up by name: a parameter from suite.conf. */
	const char *kind = kq_test_param(t, "kind", "cpuid");
	const struct kq_exit_kind *k = NULL;
	for (int i = 0; i < KQ_EXIT_COUNT && !k; i++)
		if (strcmp(kq_exit_kinds[i].kind, kind) == 0)
			k = &kq_exit_kinds[i];
	if (!k || !k->plain_loop) {
		kq_result_set_status(
		    res, KQ_FAIL,
		    "kind = %s: %s (exit.scaling runs the kinds of "
		    "workloads/exit_table.def whose guest side is a KQ_LOOP)",
		    kind, k ? "its guest side is not a plain loop" : "no such exit kind");
		return;
	}
	int cpus = allowed_cpus();
	int64_t max = kq_test_param_int(t, "max_vcpus", cpus);
	if (max < 1 || max > KQ_VCPU_MAX) {
		kq_result_set_status(res, KQ_FAIL, "max_vcpus = %lld: expected 1 to %d",
				     (long long)max, KQ_VCPU_MAX);
		return;
	}
	if (max > cpus) {
		kq_result_diag(res, "max_vcpus = %lld lowered to the %d CPUs this process may use",
			       (long long)max, cpus);
		max = cpus;
	}
	double agg1 = 0;
	json_t *counts = json_array();
	for (int n = 1; n <= max; n = n * 2 > max && n < max ? (int)max : n * 2) {
		if (run_count(t, o, res, k, n, &agg1) < 0)
			break;
		json_array_append_new(counts, json_integer(n));
	}
	kq_result_set_evidence(res, "vcpu_counts", counts);
}

static const struct kq_driver exit_scaling = {
    .name = "exit.scaling",
    .summary = "one exit on 1, 2, 4 ... N pinned vCPUs at once: per-vCPU samples, exits/s",
    .needs_kvm = true,
    .params = scaling_params,
    .run = run_scaling,
};
KQ_DRIVER(exit_scaling)
