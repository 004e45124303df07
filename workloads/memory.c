/* memory.matrix: the memory kernels (pointer chase, streaming read and write,
 * random page) in the guest and natively on the same backing, over working
 * sets from 16 KiB up on a log scale, for one cell of the matrix guest page
 * size x host backing (the test's page_size and backing keys). Per working
 * set and kernel: guest and native ns per access with per-batch samples, and
 * the ratio guest / native. The native run of a job goes just before the
 * guest's, on the same thread, while the guest waits in its SYNC. */
#include "workloads/memory_abi.h"
#include "workloads/memory_chain.h"
#include "workloads/memory_host.h"
#include "workloads/memory_matrix.h"
#include "workloads/vmhost.h"
#include "probes/probe.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SETS 160

struct matrix {
	const struct kq_test *t;
	struct kq_result *res;
	struct kq_memory_plan plan;
	uint64_t goal_ms;
	struct kq_mem native;
	uint64_t native_khz, guest_khz;
	const char *paging;
	struct kq_vm *vm;
	size_t njobs, job; /* job: the one whose guest samples come next */
	double native_median[KQ_MEMK_COUNT];
	uint64_t *buf; /* native samples */
};

static const char *ws_class(uint64_t b)
{
	return b < (1ULL << 20) ? "small" : b < (64ULL << 20) ? "medium" : "large";
}

static void job_of(const struct matrix *m, size_t j, uint64_t *ws, enum kq_memk_kernel *k)
{
	*ws = m->plan.sets[j / (size_t)m->plan.nkernels];
	*k = m->plan.kernels[j % (size_t)m->plan.nkernels];
}

/* Adds "<kernel>.<side>.<KiB>K" in ns per access with the cell's labels. */
static double add_metric(struct matrix *m, const char *side, enum kq_memk_kernel k, uint64_t ws,
			 const uint64_t *tot, uint64_t n, uint64_t batch, uint64_t khz)
{
	char name[96];
	double *ns = malloc(n * sizeof(*ns));
	if (!ns || !n || !batch) {
		free(ns);
		return 0;
	}
	for (uint64_t i = 0; i < n; i++)
		ns[i] = (double)tot[i] / (double)batch * 1e6 / (double)khz;
	snprintf(name, sizeof(name), "%s.%s.%lluK", kq_memk_name(k), side,
		 (unsigned long long)(ws >> 10));
	json_t *mt = kq_result_add_samples(m->res, name, "ns", ns, n);
	free(ns);
	json_t *l = json_object_get(mt, "labels");
	json_object_set_new(l, "kernel", json_string(kq_memk_name(k)));
	json_object_set_new(l, "side", json_string(side));
	json_object_set_new(l, "working_set", json_integer((json_int_t)ws));
	json_object_set_new(l, "ws_class", json_string(ws_class(ws)));
	json_object_set_new(l, "page_size", json_string(kq_page_size_name(m->t->page_size)));
	json_object_set_new(l, "backing", json_string(kq_backing_name(m->t->backing)));
	json_object_set_new(l, "paging", json_string(m->paging));
	json_object_set_new(l, "batch_size", json_integer((json_int_t)batch));
	double med = kq_metric_median(mt);
	if (k == KQ_MEMK_READ || k == KQ_MEMK_WRITE) {
		snprintf(name, sizeof(name), "%s.%s.%lluK.bandwidth", kq_memk_name(k), side,
			 (unsigned long long)(ws >> 10));
		json_t *bw = kq_result_add_value(m->res, name, "MB/s",
						 med > 0 ? (double)KQ_MEMK_LINE / med * 1e3 : 0);
		json_object_set_new(json_object_get(bw, "labels"), "side", json_string(side));
	}
	return med;
}

static void add_ratio(struct matrix *m, enum kq_memk_kernel k, uint64_t ws, double guest,
		      double native)
{
	if (!(guest > 0 && native > 0))
		return;
	char name[96];
	snprintf(name, sizeof(name), "ratio.%s.%lluK", kq_memk_name(k),
		 (unsigned long long)(ws >> 10));
	json_t *r = kq_result_add_value(m->res, name, "ratio", guest / native);
	json_t *l = json_object_get(r, "labels");
	json_object_set_new(l, "kernel", json_string(kq_memk_name(k)));
	json_object_set_new(l, "working_set", json_integer((json_int_t)ws));
	json_object_set_new(l, "ws_class", json_string(ws_class(ws)));
	json_object_set_new(l, "page_size", json_string(kq_page_size_name(m->t->page_size)));
	json_object_set_new(l, "backing", json_string(kq_backing_name(m->t->backing)));
	json_object_set_new(l, "paging", json_string(m->paging));
}

static double run_native(struct matrix *m, enum kq_memk_kernel k, uint64_t ws)
{
	uint64_t batch = 0,
		 n = kq_memk_native(k, m->native.host, ws, m->plan.seed, m->goal_ms * m->native_khz,
				    m->buf, KQ_MAX_SAMPLES, &batch);
	if (!n) {
		kq_result_set_status(m->res, KQ_FAIL, "native %s over %llu bytes: out of memory",
				     kq_memk_name(k), (unsigned long long)ws);
		return 0;
	}
	return add_metric(m, "native", k, ws, m->buf, n, batch, m->native_khz);
}

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct matrix *m = ctx;
	uint64_t ws;
	enum kq_memk_kernel k;
	if (uc->kind == KQ_UC_PRINT) {
		kq_result_diag(m->res, "guest: %.*s", (int)sizeof(uc->text), uc->text);
		return 0;
	}
	if (uc->kind == KQ_UC_SAMPLES) {
		if (m->job >= m->njobs || uc->count > KQ_MAX_SAMPLES) {
			kq_vcpu_fail(v, "unexpected samples (job %zu, %llu entries)", m->job,
				     (unsigned long long)uc->count);
			return -1;
		}
		const uint64_t *tot =
		    kq_vm_gpa_to_hva(m->vm, uc->data_gpa, uc->count * sizeof(uint64_t));
		if (!tot) {
			kq_vcpu_fail(v, "samples outside guest RAM");
			return -1;
		}
		job_of(m, m->job, &ws, &k);
		double g = add_metric(m, "guest", k, ws, tot, uc->count, uc->args[0], m->guest_khz);
		add_ratio(m, k, ws, g, m->native_median[k]);
		return 0;
	}
	if (uc->kind != KQ_UC_SYNC) {
		kq_vcpu_fail(v, "unexpected ucall kind %u", uc->kind);
		return -1;
	}
	/* The guest waits in this SYNC; the host replies in the message's args. */
	struct kq_ucall *reply = (struct kq_ucall *)uc;
	m->job = (size_t)uc->args[0];
	if (m->job >= m->njobs) {
		reply->args[KQ_MJ_KERNEL] = KQ_MEMK_NONE;
		return 0;
	}
	job_of(m, m->job, &ws, &k);
	m->native_median[k] = m->plan.native ? run_native(m, k, ws) : 0;
	uint64_t stride = kq_memk_chain_stride(k), first = 0;
	if (stride) {
		first = kq_chain_build(kq_vm_test_mem(m->vm)->host, KQ_TEST_GPA, ws, stride,
				       m->plan.seed);
		if (!first) {
			kq_vcpu_fail(v, "building the %s chain: out of memory", kq_memk_name(k));
			return -1;
		}
	}
	reply->args[KQ_MJ_KERNEL] = k;
	reply->args[KQ_MJ_BASE] = KQ_TEST_GPA;
	reply->args[KQ_MJ_LINES] = ws / KQ_MEMK_LINE;
	reply->args[KQ_MJ_POS] = first;
	reply->args[KQ_MJ_GOAL] = m->goal_ms * m->guest_khz;
	return 0;
}

static int setup(struct kq_guest_run *g, void *ctx)
{
	struct matrix *m = ctx;
	m->vm = g->vm;
	m->guest_khz = g->tsc_khz;
	kq_vm_set_ucall_handler(g->vm, on_ucall, m);
	return 0;
}

/* Without KVM (or with the guest half unavailable) the native half still runs. */
static void run_native_only(struct matrix *m)
{
	for (size_t j = 0; j < m->njobs; j++) {
		uint64_t ws;
		enum kq_memk_kernel k;
		job_of(m, j, &ws, &k);
		run_native(m, k, ws);
	}
}

static void run_matrix(const struct kq_driver *d, const struct kq_test *t,
		       const struct kq_run_opts *o, struct kq_result *res)
{
	struct matrix m = {.t = t, .res = res};
	char err[256];
	if (kq_memory_plan(t, o, &m.plan, err, sizeof(err)) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		return;
	}
	m.njobs = m.plan.nsets * (size_t)m.plan.nkernels;
	m.goal_ms = (uint64_t)(kq_test_time_goal_ms(t, o) + 0.5);
	if (!m.goal_ms)
		m.goal_ms = 1;
	json_t *paging = kq_probe_paging("");
	m.paging = json_string_value(json_object_get(paging, "mode"));
	kq_result_set_evidence(res, "paging", paging);
	json_t *sets = json_array();
	for (size_t i = 0; i < m.plan.nsets; i++)
		json_array_append_new(sets, json_integer((json_int_t)m.plan.sets[i]));
	kq_result_set_evidence(res, "working_sets", sets);
	kq_result_set_evidence(res, "seed", json_integer((json_int_t)m.plan.seed));

	/* A guest page size the guest cannot use SKIPs with its CPUID bit first. */
	struct kq_kvm kvm;
	if (t->page_size == KQ_PG_1G && kq_kvm_open(&kvm, NULL) == 0) {
		bool has = kq_cpu_has_1g_pages(&kvm);
		kq_kvm_close(&kvm);
		if (!has) {
			kq_result_set_status(
			    res, KQ_SKIP,
			    "1G guest pages: KVM_GET_SUPPORTED_CPUID does not offer "
			    "pdpe1gb (CPUID 0x80000001 EDX bit 26)");
			return;
		}
	}
	struct kq_hugepages hp = {.guard_fd = -1};
	if (kq_memory_reserve(t, &m.plan, &hp, res) < 0)
		return;
	m.buf = malloc(KQ_MAX_SAMPLES * sizeof(*m.buf));
	if (!m.buf) {
		kq_result_set_status(res, KQ_FAIL, "out of memory");
		goto out;
	}
	if (m.plan.native) {
		m.native_khz = kq_tsc_khz_calibrate();
		kq_result_set_evidence(res, "native_tsc_khz",
				       json_integer((json_int_t)m.native_khz));
		if (kq_mem_alloc(&m.native, m.plan.slot, t->backing) < 0) {
			kq_result_set_status(
			    res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL, "native memory: %s%s",
			    kq_err(), kq_err_is_unavailable() ? kq_memory_remedy(t, &m.plan) : "");
			goto out;
		}
	}
	struct kq_kvm probe;
	if (kq_kvm_open(&probe, NULL) < 0) {
		if (m.plan.native)
			run_native_only(&m);
		kq_result_set_status(res, KQ_SKIP, "guest half: %s (native half measured)",
				     kq_err());
		goto out;
	}
	kq_kvm_close(&probe);
	struct kq_test vt = *t;
	vt.mem_bytes = m.plan.slot;
	struct kq_guest_opts go = {.guest_workload = "memory.kernels", .setup = setup, .ctx = &m};
	if (kq_guest_run(&vt, o, res, &go) < 0 && kq_result_status(res) == KQ_SKIP) {
		/* Say what would make the cell available, and keep the native half. */
		json_t *reason = json_object_get(res->obj, "reason");
		char why[512];
		snprintf(why, sizeof(why), "%s%s", reason ? json_string_value(reason) : "",
			 kq_memory_remedy(t, &m.plan));
		json_object_set_new(res->obj, "reason", json_string(why));
		if (m.plan.native)
			run_native_only(&m);
	}
out:
	free(m.buf);
	kq_mem_free(&m.native);
	kq_hugepages_restore(&hp);
}

static const struct kq_driver memory_matrix = {
    .name = "memory.matrix",
    .summary = "memory kernels in the guest and natively on one backing: ns per access by "
	       "working set",
    .needs_kvm = false,
    .params = kq_memory_params,
    .run = run_matrix,
    .validate = kq_memory_validate,
};
KQ_DRIVER(memory_matrix)
