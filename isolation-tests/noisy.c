/* isolation.noisy.*: what one tenant does to another's memory latency. A
 * victim VM chases pointers through a working set that fits the L3 (samples
 * of `per` dependent loads, ns per load) alone, then while an aggressor VM
 * in another process, on another core of the same L3, (a) streams writes
 * over twice the L3, (b) floods CPUID exits, or (c) takes split locks. The
 * result: the victim's p50 and p99 per load alone and loaded, and the
 * slowdown ratios loaded / alone (metrics slowdown_p50, slowdown_p99; lower
 * is better). `max.slowdown_p99.value` in suite.conf gives a verdict. */
#include "core/isostats.h"
#include "isolation-tests/isob_abi.h"
#include "isolation-tests/iso_common.h"
#include "isolation-tests/isob_util.h"
#include "probes/topology.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "workloads/memory_chain.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ULL << 20)

struct noisy_shared {
	/* victim */
	int v_ready, v_req, v_done, v_abort;
	int v_cmd;
	char v_err[256];
	int v_cpu;
	uint64_t v_bytes, per, ns, khz;
	uint64_t n[2];
	double lat[2][KQ_MAX_SAMPLES]; /* ns per load: [0] alone, [1] loaded */
	/* aggressor */
	int a_running, a_stop, a_abort;
	char a_err[256];
	int a_cpu, a_mode;
	uint64_t a_bytes;
};

static uint64_t round_2m(uint64_t b)
{
	return (b + 2 * MIB - 1) & ~(2 * MIB - 1);
}

static int victim_fail(struct noisy_shared *sh)
{
	__atomic_store_n(&sh->v_abort, 1, __ATOMIC_RELEASE);
	return 1;
}

static int victim_main(struct kq_kvm *kvm, void *ctx)
{
	struct noisy_shared *sh = ctx;
	char *err = sh->v_err;
	size_t len = sizeof(sh->v_err);
	struct kq_vm *vm = isob_vm_create(kvm, "iso.victim", NULL, round_2m(sh->v_bytes), sh->v_cpu,
					  120, err, len);
	if (!vm)
		return victim_fail(sh);
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	uint64_t *args = kq_vcpu_params(v)->args;
	args[ISOB_VIC_ARG_CHAIN] =
	    kq_chain_build(kq_vm_test_mem(vm)->host, KQ_TEST_GPA, sh->v_bytes, 64, 0x71c71c);
	args[ISOB_VIC_ARG_PER] = sh->per;
	args[ISOB_VIC_ARG_NS] = sh->ns;
	if (!args[ISOB_VIC_ARG_CHAIN]) {
		snprintf(err, len, "victim chain over %llu bytes: no memory",
			 (unsigned long long)sh->v_bytes);
		return victim_fail(sh);
	}
	sh->khz = kq_vm_tsc_khz(vm);
	int done = 0;
	for (;;) {
		const struct kq_ucall *uc = isob_next_ucall(v, NULL, err, len);
		if (!uc)
			return victim_fail(sh);
		if (uc->kind == KQ_UC_DONE)
			break;
		if (uc->kind == KQ_UC_SAMPLES) {
			const uint64_t *tot = kq_vm_gpa_to_hva(vm, uc->data_gpa, uc->count * 8);
			if (!tot || uc->count > KQ_MAX_SAMPLES || done > 1) {
				snprintf(err, len, "bad samples ucall (%llu at 0x%llx)",
					 (unsigned long long)uc->count,
					 (unsigned long long)uc->data_gpa);
				return victim_fail(sh);
			}
			for (uint64_t i = 0; i < uc->count; i++)
				sh->lat[done][i] =
				    (double)tot[i] / (double)sh->per * 1e6 / (double)sh->khz;
			sh->n[done] = uc->count;
			__atomic_store_n(&sh->v_done, ++done, __ATOMIC_RELEASE);
			continue;
		}
		if (uc->kind != KQ_UC_SYNC)
			continue;
		__atomic_store_n(&sh->v_ready, 1, __ATOMIC_RELEASE);
		/* The guest waits in this SYNC for the driver's next request. */
		if (!isob_wait_flag(&sh->v_req, done + 1, NULL, 100)) {
			snprintf(err, len, "no request from the driver within 100 s");
			return victim_fail(sh);
		}
		if (kq_vcpu_ucall_reply(v, 2, (uint64_t)sh->v_cmd) < 0) {
			snprintf(err, len, "%s", kq_err());
			return victim_fail(sh);
		}
	}
	kq_vm_destroy(vm);
	return 0;
}

static int on_aggressor_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct noisy_shared *sh = ctx;
	if (uc->kind == KQ_UC_SYNC)
		__atomic_store_n(&sh->a_running, 1, __ATOMIC_RELEASE);
	return 0;
}

static int aggressor_main(struct kq_kvm *kvm, void *ctx)
{
	struct noisy_shared *sh = ctx;
	uint64_t args[KQ_MAX_ARGS] = {0};
	args[ISOB_AGG_ARG_MODE] = (uint64_t)sh->a_mode;
	args[ISOB_AGG_ARG_BYTES] = sh->a_bytes;
	struct kq_vm *vm = isob_vm_create(kvm, "iso.aggressor", args, round_2m(sh->a_bytes),
					  sh->a_cpu, 120, sh->a_err, sizeof(sh->a_err));
	if (!vm)
		goto fail;
	kq_vm_set_ucall_handler(vm, on_aggressor_ucall, sh);
	if (kq_vm_start(vm) < 0) {
		snprintf(sh->a_err, sizeof(sh->a_err), "%s", kq_err());
		goto fail;
	}
	for (;;) {
		int w = kq_vm_wait(vm, 0.005);
		if (w != 1) {
			/* The aggressor never ends by itself: any end is a failure. */
			snprintf(sh->a_err, sizeof(sh->a_err), "aggressor VM ended: %s",
				 w < 0 ? kq_vm_failure(vm) : "reached DONE");
			goto fail;
		}
		if (__atomic_load_n(&sh->a_stop, __ATOMIC_ACQUIRE))
			break;
	}
	kq_vm_stop(vm);
	kq_vm_wait(vm, 10);
	kq_vm_destroy(vm);
	return 0;
fail:
	__atomic_store_n(&sh->a_abort, 1, __ATOMIC_RELEASE);
	return 1;
}

/* Asks the victim for one measurement (cmd GO) or to finish (DONE). */
static bool victim_request(struct noisy_shared *sh, int cmd, int want_done, double timeout)
{
	sh->v_cmd = cmd;
	__atomic_add_fetch(&sh->v_req, 1, __ATOMIC_ACQ_REL);
	if (cmd != ISOB_CMD_GO)
		return true;
	return isob_wait_flag(&sh->v_done, want_done, &sh->v_abort, timeout);
}

/* The host's split-lock handling, as evidence (and the reason of a SKIP). */
static json_t *split_lock_host(void)
{
	json_t *j = json_object();
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	bool sld = false, bld = false;
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "flags", 5) == 0) {
			sld = strstr(line, " split_lock_detect") != NULL;
			bld = strstr(line, " bus_lock_detect") != NULL;
			break;
		}
	if (f)
		fclose(f);
	json_object_set_new(j, "split_lock_detect_flag", json_boolean(sld));
	json_object_set_new(j, "bus_lock_detect_flag", json_boolean(bld));
	return j;
}

static void add_result(struct kq_result *res, struct noisy_shared *sh, const char *agg,
		       const struct kq_run_opts *o)
{
	const char *side[2] = {"victim_alone.ns", "victim_loaded.ns"};
	for (int i = 0; i < 2; i++) {
		json_t *m = kq_result_add_samples(res, side[i], "ns", sh->lat[i], sh->n[i]);
		json_object_set_new(json_object_get(m, "labels"), "aggressor",
				    json_string(i ? agg : "none"));
	}
	struct kq_slowdown sd;
	if (kq_slowdown_compute(sh->lat[0], sh->n[0], sh->lat[1], sh->n[1], &sd) < 0) {
		kq_result_set_status(res, KQ_FAIL, "no victim samples to compare");
		return;
	}
	const char *pct[2] = {"p50", "p99"};
	double ratio[2] = {sd.ratio_p50, sd.ratio_p99};
	for (int i = 0; i < 2; i++) {
		char name[32];
		snprintf(name, sizeof(name), "slowdown_%s", pct[i]);
		json_t *m = kq_result_add_value(res, name, "ratio", ratio[i]);
		json_t *l = json_object_get(m, "labels");
		json_object_set_new(l, "aggressor", json_string(agg));
		json_object_set_new(l, "percentile", json_string(pct[i]));
		json_object_set_new(l, "better", json_string("lower"));
	}
	kq_result_set_evidence(
	    res, "victim",
	    json_pack("{s:i, s:i, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f}", "victim_cpu", sh->v_cpu,
		      "aggressor_cpu", sh->a_cpu, "working_set", (json_int_t)sh->v_bytes,
		      "aggressor_bytes", (json_int_t)sh->a_bytes, "loads_per_sample",
		      (json_int_t)sh->per, "samples", (json_int_t)sh->n[0], "alone_p50_ns",
		      sd.alone_p50, "alone_p99_ns", sd.alone_p99, "loaded_p50_ns", sd.loaded_p50,
		      "loaded_p99_ns", sd.loaded_p99));
	kq_result_set_status(res, KQ_PASS,
			     "%s aggressor: victim p50 x%.2f (%.1f -> %.1f ns), p99 x%.2f (%.1f -> "
			     "%.1f ns)%s",
			     agg, sd.ratio_p50, sd.alone_p50, sd.loaded_p50, sd.ratio_p99,
			     sd.alone_p99, sd.loaded_p99, isob_confidence_note(o));
}

static void run_noisy(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	const char *agg = kq_test_param(t, "aggressor", "stream");
	int mode = !strcmp(agg, "stream")  ? ISOB_AGG_STREAM
		   : !strcmp(agg, "exits") ? ISOB_AGG_EXITS
					   : ISOB_AGG_SPLITLOCK;
	bool emu = isob_emulated(o);
	int cpus[2] = {-1, -1};
	bool pinned = kq_topology_pick_cpus("same-l3", 2, cpus) == 0;
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	char err[256];
	struct noisy_shared *sh = kq_iso_shared(sizeof(*sh), err, sizeof(err));
	if (!sh) {
		kq_result_set_status(res, KQ_FAIL, "the shared area: %s", err);
		kq_kvm_close(&kvm);
		return;
	}
	uint64_t l3 = isob_cache_bytes(pinned ? cpus[0] : 0, 3, 32 * MIB);
	sh->v_cpu = cpus[0];
	sh->a_cpu = cpus[1];
	sh->a_mode = mode;
	sh->v_bytes = kq_test_param_size(t, "victim_bytes", emu ? MIB : l3 / 2);
	sh->a_bytes = kq_test_param_size(t, "aggressor_bytes", emu ? 4 * MIB : 2 * l3);
	sh->per = (uint64_t)kq_test_param_int(t, "per_sample", emu ? 64 : 256);
	sh->ns = (uint64_t)kq_test_param_int(t, "samples", emu || o->quick ? 500 : 3000);
	if (sh->ns > KQ_MAX_SAMPLES)
		sh->ns = KQ_MAX_SAMPLES;
	double limit = t->time_limit_s > 0 ? t->time_limit_s * 0.8 : 100, wait = limit / 3;
	struct isob_child v = {.kvm = &kvm, .fn = victim_main, .ctx = sh, .limit_s = limit};
	struct isob_child a = {.kvm = &kvm, .fn = aggressor_main, .ctx = sh, .limit_s = limit};
	char fail[512] = "";
	enum kq_status st = KQ_FAIL;
	if (isob_child_start(&v) < 0 || !isob_wait_flag(&sh->v_ready, 1, &sh->v_abort, wait) ||
	    !victim_request(sh, ISOB_CMD_GO, 1, wait)) {
		snprintf(fail, sizeof(fail), "victim alone: %s", sh->v_err[0] ? sh->v_err : v.err);
		goto stop;
	}
	if (isob_child_start(&a) < 0 || !isob_wait_flag(&sh->a_running, 1, &sh->a_abort, wait)) {
		snprintf(fail, sizeof(fail), "%s aggressor: %s", agg,
			 sh->a_err[0] ? sh->a_err
			 : a.err[0]   ? a.err
				      : "did not start in time");
		goto stop;
	}
	if (!victim_request(sh, ISOB_CMD_GO, 2, wait)) {
		snprintf(fail, sizeof(fail), "victim loaded: %s", sh->v_err[0] ? sh->v_err : v.err);
		goto stop;
	}
	if (__atomic_load_n(&sh->a_abort, __ATOMIC_ACQUIRE))
		snprintf(fail, sizeof(fail), "%s aggressor stopped during the measurement: %s", agg,
			 sh->a_err);
stop:
	__atomic_store_n(&sh->a_stop, 1, __ATOMIC_RELEASE);
	if (a.started && isob_child_join(&a) < 0 && !fail[0])
		snprintf(fail, sizeof(fail), "%s aggressor: %s", agg,
			 sh->a_err[0] ? sh->a_err : a.err);
	/* A killed aggressor (SIGBUS from split_lock_detect=fatal) or #AC in
	 * the guest: the host refuses split locks, nothing to measure. */
	if (mode == ISOB_AGG_SPLITLOCK && fail[0] &&
	    (strstr(fail, "#AC") || strstr(fail, "Alignment") || strstr(a.err, "signal 7")))
		st = KQ_SKIP;
	victim_request(sh, ISOB_CMD_DONE, 0, 0);
	if (v.started && isob_child_join(&v) < 0 && !fail[0])
		snprintf(fail, sizeof(fail), "victim: %s", sh->v_err[0] ? sh->v_err : v.err);
	if (mode == ISOB_AGG_SPLITLOCK)
		kq_result_set_evidence(res, "host_split_lock", split_lock_host());
	if (!pinned)
		kq_result_diag(res, "no two cores share an L3 here: victim and aggressor unpinned");
	if (fail[0])
		kq_result_set_status(res, st, "%s%s", st == KQ_SKIP ? "split locks refused: " : "",
				     fail);
	else
		add_result(res, sh, agg, o);
	kq_iso_shared_free(sh, sizeof(*sh));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec noisy_params[] = {
    {"aggressor", KQ_PT_STRING, "what the aggressor VM does: stream, exits, splitlock"},
    {"victim_bytes", KQ_PT_SIZE, "victim's chase working set (default half the L3)"},
    {"aggressor_bytes", KQ_PT_SIZE, "stream aggressor's buffer (default twice the L3)"},
    {"per_sample", KQ_PT_INT, "dependent loads per timed sample (default 256; 64 emulated)"},
    {"samples", KQ_PT_INT, "samples per measurement (default 3000; 500 quick or emulated)"},
    {NULL, 0, NULL},
};

static int noisy_validate(const struct kq_test *t, char *err, size_t len, const char **key)
{
	const char *a = kq_test_param(t, "aggressor", "stream");
	if (strcmp(a, "stream") && strcmp(a, "exits") && strcmp(a, "splitlock")) {
		snprintf(err, len, "aggressor = '%s': stream, exits or splitlock", a);
		*key = "aggressor";
		return -1;
	}
	return 0;
}

static const struct kq_driver noisy_drivers[] = {{
    .name = "iso.noisy",
    .summary = "victim VM's pointer-chase p50/p99 alone and beside an aggressor VM: slowdowns",
    .needs_kvm = true,
    .params = noisy_params,
    .run = run_noisy,
    .validate = noisy_validate,
}};
KQ_DRIVER_TABLE(noisy_drivers)
