#include "workloads/vmhost.h"
#include "probes/kvm_caps.h"
#include "probes/topology.h"
#include "core/steps_parse.h"
#include "vmm/err.h"
#include "vmm/kvm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *label_for(const struct kq_guest_opts *go, const char *kind)
{
	for (const struct kq_kind_label *l = go->labels; l && l->kind; l++)
		if (strcmp(l->kind, kind) == 0)
			return l->handled_in;
	return NULL;
}

double kq_metric_median(const json_t *metric)
{
	return json_real_value(json_object_get(json_object_get(metric, "stats"), "median"));
}

json_t *kq_add_cycle_samples(struct kq_result *res, const char *name, const uint64_t *totals,
			     size_t n, uint64_t divisor, uint64_t tsc_khz, const char *kind,
			     const char *handled_in)
{
	double *cyc = malloc(n * sizeof(*cyc)), *ns = malloc(n * sizeof(*ns));
	if (!cyc || !ns) {
		fprintf(stderr, "kvmqual: out of memory for samples\n");
		abort();
	}
	for (size_t i = 0; i < n; i++) {
		cyc[i] = (double)totals[i] / (double)(divisor ? divisor : 1);
		ns[i] = cyc[i] * 1e6 / (double)tsc_khz;
	}
	char mname[96];
	snprintf(mname, sizeof(mname), "%s.cycles", name);
	json_t *mc = kq_result_add_samples(res, mname, "cycles", cyc, n);
	snprintf(mname, sizeof(mname), "%s.ns", name);
	json_t *mn = kq_result_add_samples(res, mname, "ns", ns, n);
	json_t *both[2] = {mc, mn};
	for (int i = 0; i < 2; i++) {
		json_t *l = json_object_get(both[i], "labels");
		json_object_set_new(l, "kind", json_string(kind));
		if (handled_in)
			json_object_set_new(l, "handled_in", json_string(handled_in));
		json_object_set_new(l, "batch_size", json_integer((json_int_t)divisor));
	}
	free(cyc);
	free(ns);
	return mc;
}

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct kq_guest_run *g = ctx;
	bool multi = g->t->vcpus > 1;
	char name[96];
	switch (uc->kind) {
	case KQ_UC_SAMPLES: {
		if (uc->count > KQ_MAX_SAMPLES) {
			kq_vcpu_fail(v, "samples ucall with %llu entries (max %d)",
				     (unsigned long long)uc->count, KQ_MAX_SAMPLES);
			return -1;
		}
		const uint64_t *data =
		    kq_vm_gpa_to_hva(g->vm, uc->data_gpa, uc->count * sizeof(uint64_t));
		if (!data) {
			kq_vcpu_fail(v, "samples at 0x%llx lie outside guest RAM",
				     (unsigned long long)uc->data_gpa);
			return -1;
		}
		if (multi)
			snprintf(name, sizeof(name), "vcpu%d.%.40s", kq_vcpu_index(v), uc->name);
		else
			snprintf(name, sizeof(name), "%.40s", uc->name);
		json_t *m =
		    kq_add_cycle_samples(g->res, name, data, uc->count, uc->args[0], g->tsc_khz,
					 uc->name, label_for(g->opts, uc->name));
		if (multi) {
			json_t *cyc_ns = kq_result_find_metric(g->res, name);
			(void)cyc_ns;
			json_object_set_new(json_object_get(m, "labels"), "vcpu",
					    json_integer(kq_vcpu_index(v)));
			snprintf(name, sizeof(name), "vcpu%d.%.40s.ns", kq_vcpu_index(v), uc->name);
			json_object_set_new(
			    json_object_get(kq_result_find_metric(g->res, name), "labels"), "vcpu",
			    json_integer(kq_vcpu_index(v)));
		}
		return 0;
	}
	case KQ_UC_RESULT:
		if (multi)
			snprintf(name, sizeof(name), "vcpu%d.%.40s", kq_vcpu_index(v), uc->name);
		else
			snprintf(name, sizeof(name), "%.40s", uc->name);
		kq_result_add_value(g->res, name, uc->unit[0] ? uc->unit : "count",
				    (double)uc->args[0]);
		return 0;
	case KQ_UC_PRINT:
		kq_result_diag(g->res, "guest vCPU %d: %.*s", kq_vcpu_index(v),
			       (int)sizeof(uc->text), uc->text);
		return 0;
	case KQ_UC_STEP: {
		uint64_t idx = uc->args[0], op = uc->args[1], cycles = uc->args[2],
			 iters = uc->args[3];
		snprintf(name, sizeof(name), "%sstep%llu.%s", multi ? "" : "",
			 (unsigned long long)idx, kq_step_op_name((uint32_t)op));
		if (multi)
			snprintf(name, sizeof(name), "vcpu%d.step%llu.%s", kq_vcpu_index(v),
				 (unsigned long long)idx, kq_step_op_name((uint32_t)op));
		char mname[128];
		snprintf(mname, sizeof(mname), "%s.duration_us", name);
		kq_result_add_value(g->res, mname, "us", (double)cycles * 1e3 / (double)g->tsc_khz);
		if (iters > 1) {
			snprintf(mname, sizeof(mname), "%s.ns_per_iteration", name);
			json_t *m = kq_result_add_value(g->res, mname, "ns",
							(double)cycles * 1e6 / (double)g->tsc_khz /
							    (double)iters);
			json_object_set_new(json_object_get(m, "labels"), "iterations",
					    json_integer((json_int_t)iters));
		}
		return 0;
	}
	case KQ_UC_SYNC:
		return 0;
	default:
		kq_vcpu_fail(v, "unknown ucall kind %u", uc->kind);
		return -1;
	}
}

static int resolve_pinning(const struct kq_test *t, int *cpus, struct kq_result *res)
{
	if (t->pin == KQ_PIN_NONE)
		return 0;
	if (t->pin == KQ_PIN_LIST) {
		memcpy(cpus, t->pin_cpus, (size_t)t->vcpus * sizeof(int));
		return 1;
	}
	const char *policy = t->pin == KQ_PIN_COMPACT ? "compact" : "spread";
	if (kq_topology_pick_cpus(policy, t->vcpus, cpus) < 0) {
		kq_result_set_status(res, KQ_SKIP, "pin = %s: the host cannot place %d vCPUs (%s)",
				     policy, t->vcpus, strerror(errno));
		return -1;
	}
	return 1;
}

static void record_exits(struct kq_guest_run *g)
{
	json_t *ex = json_object();
	for (int r = 0; r < 64; r++) {
		uint64_t total = 0;
		for (int i = 0; i < g->t->vcpus; i++)
			total += kq_vcpu_exit_count(kq_vm_vcpu(g->vm, i), (uint32_t)r);
		if (total)
			json_object_set_new(ex, kq_exit_reason_name((uint32_t)r),
					    json_integer((json_int_t)total));
	}
	kq_result_set_evidence(g->res, "userspace_exits", ex);
}

int kq_guest_run(const struct kq_test *t, const struct kq_run_opts *o, struct kq_result *res,
		 const struct kq_guest_opts *go)
{
	struct kq_guest_run g = {.t = t, .o = o, .res = res, .opts = go};
	int rc = -1;
	if (kq_kvm_open(&g.kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return -1;
	}
	char why[256];
	int have = kq_kvm_caps_check(g.kvm.fd, t->requires, why, sizeof(why));
	if (have <= 0) {
		kq_result_set_status(res, have == 0 ? KQ_SKIP : KQ_FAIL, "%s", why);
		goto out;
	}
	int cpus[KQ_MAX_CPUS];
	int pinned = resolve_pinning(t, cpus, res);
	if (pinned < 0)
		goto out;

	struct kq_step steps[KQ_MAX_STEPS_ABI];
	int nsteps = 0;
	if (t->steps[0]) {
		char err[256];
		nsteps = kq_steps_parse(t->steps, steps, KQ_MAX_STEPS_ABI, err, sizeof(err));
		if (nsteps < 0) {
			kq_result_set_status(res, KQ_FAIL, "steps: %s", err);
			goto out;
		}
	}
	struct kq_vm_config cfg = {
	    .vcpus = t->vcpus,
	    .test_mem = t->mem_bytes,
	    .backing = t->backing,
	    .page_size = t->page_size,
	    .irqchip = go->irqchip,
	    /* The vCPUs must finish before the runner's own limit kills the child. */
	    .time_limit_s = t->time_limit_s * 0.9,
	    .cpus = pinned ? cpus : NULL,
	    .workload = go->guest_workload ? go->guest_workload : t->workload,
	    .steps = nsteps ? steps : NULL,
	    .nsteps = nsteps,
	};
	memcpy(cfg.args, go->args, sizeof(cfg.args));
	if (kq_vm_create(&g.vm, &g.kvm, &cfg) < 0) {
		kq_result_set_status(res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL, "%s",
				     kq_err());
		goto out;
	}
	g.tsc_khz = kq_vm_tsc_khz(g.vm);
	/* The time goal is set in the parameter pages, now that the TSC rate is known. */
	uint64_t goal = (uint64_t)(kq_test_time_goal_ms(t, o) * (double)g.tsc_khz);
	for (int i = 0; i < t->vcpus; i++)
		kq_vcpu_params(kq_vm_vcpu(g.vm, i))->time_goal_cycles = goal;
	kq_vm_set_ucall_handler(g.vm, on_ucall, &g);
	if (go->setup && go->setup(&g, go->ctx) < 0)
		goto out;
	/* KVM's own counters for vCPU 0 show which exits really happened and
	 * whether KVM emulated instructions around them. */
	struct kq_kvm_stats kst;
	json_t *before = kq_kvm_stats_open(&kst, kq_vcpu_fd(kq_vm_vcpu(g.vm, 0))) == 0
			     ? kq_kvm_stats_read(&kst)
			     : NULL;
	int run_rc = kq_vm_run(g.vm);
	if (before) {
		json_t *after = kq_kvm_stats_read(&kst);
		kq_result_set_evidence(res, "kvm_stats_vcpu0", kq_kvm_stats_delta(before, after));
		json_decref(before);
		json_decref(after);
		kq_kvm_stats_close(&kst);
	}
	if (run_rc < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_vm_failure(g.vm));
		record_exits(&g);
		goto out;
	}
	kq_result_add_value(res, "startup.us", "us", (double)kq_vm_startup_ns(g.vm) / 1e3);
	kq_result_set_evidence(res, "tsc_khz", json_integer((json_int_t)g.tsc_khz));
	if (pinned) {
		json_t *p = json_array();
		for (int i = 0; i < t->vcpus; i++)
			json_array_append_new(p, json_integer(cpus[i]));
		kq_result_set_evidence(res, "host_cpus", p);
	}
	record_exits(&g);
	rc = 0;
out:
	kq_vm_destroy(g.vm);
	kq_kvm_close(&g.kvm);
	return rc;
}
