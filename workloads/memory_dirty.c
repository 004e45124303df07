/* memory.dirty-log: what dirty tracking costs, in the manner of the kernel's
 * dirty_log_perf_test, and whether it is exact. For 1, 2, 4 .. N vCPUs, each
 * writing its own share of the test slot: the guest populates the memory,
 * the host enables dirty logging on the slot, then per iteration every vCPU
 * writes one word in each of its pages and the host collects the dirty set
 * through the vmm (KVM_GET_DIRTY_LOG; + KVM_CLEAR_DIRTY_LOG; or the rings'
 * harvest + KVM_RESET_DIRTY_RINGS), and finally disables logging. Times are
 * per GiB of the slot. Every collection is compared page by page with what
 * the guest wrote (a last pass writes a seeded eighth of the pages, and the
 * host one page itself, through the vmm): a missing or extra page is a FAIL
 * with the counts and the first pages. */
#include "workloads/lockstep.h"
#include "workloads/memory_costs.h"
#include "workloads/memory_costs_abi.h"
#include "probes/probe.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITER  64
#define MAX_SHOWN 5

enum phase {
	P_POPULATE,
	P_ENABLE,
	P_WRITE,
	P_GET,
	P_CLEAR,
	P_HARVEST,
	P_RESET,
	P_COLLECT,
	P_DISABLE,
	P_COUNT
};
static const char *const phase_names[P_COUNT] = {"populate", "enable", "write",	  "get",    "clear",
						 "harvest",  "reset",  "collect", "disable"};

struct dirty {
	struct kq_result *res;
	const struct kq_test *t;
	enum kq_dirty_mode mode;
	uint64_t mem, slot_pages, region_pages, seed;
	int iterations, n;
	struct kq_kvm kvm;
	struct kq_vm *vm;
	struct kq_lockstep ls;
	int slot;
	double v[P_COUNT][MAX_ITER];
	size_t nv[P_COUNT];
	json_t *checks; /* evidence: one entry per collection */
	uint8_t *want, *got;
};

static void add(struct dirty *d, enum phase p, uint64_t ns)
{
	if (d->nv[p] < MAX_ITER)
		d->v[p][d->nv[p]++] = (double)ns / 1e6 / ((double)d->mem / (double)(1ULL << 30));
}

/* Answers every vCPU's SYNC with a pass over its own share, releases them
 * and waits; the wall time from release to the last one back. */
static int pass(struct dirty *d, enum kq_dirty_op op, uint64_t seed, uint64_t *ns)
{
	for (int i = 0; i < d->n; i++) {
		struct kq_vcpu *v = kq_vm_vcpu(d->vm, i);
		if (kq_vcpu_ucall_reply(v, KQ_DJ_OP, op) < 0 ||
		    kq_vcpu_ucall_reply(v, KQ_DJ_BASE,
					KQ_TEST_GPA + (uint64_t)i * d->region_pages * 4096) < 0 ||
		    /* The last page of each share is never written: a guard that
		     * must never be reported. */
		    kq_vcpu_ucall_reply(v, KQ_DJ_PAGES,
					op == KQ_DOP_STOP ? 0 : d->region_pages - 1) < 0 ||
		    kq_vcpu_ucall_reply(v, KQ_DJ_SEED, seed + (uint64_t)i) < 0) {
			kq_result_set_status(d->res, KQ_FAIL, "answering vCPU %d: %s", i, kq_err());
			return -1;
		}
	}
	uint64_t t0 = kq_lockstep_release(&d->ls);
	int r = kq_lockstep_wait(&d->ls, d->t->time_limit_s);
	if (r < 0 || (r == 1) != (op == KQ_DOP_STOP)) {
		kq_result_set_status(d->res, KQ_FAIL, "vcpus=%d: %s", d->n,
				     d->ls.failure[0] ? d->ls.failure : "the guest ended early");
		return -1;
	}
	*ns = kq_lockstep_last_arrival(&d->ls) - t0;
	return 0;
}

/* What the guest wrote in the last pass (or, with all set, every page). */
static void expect(struct dirty *d, enum kq_dirty_op op, uint64_t seed, bool all)
{
	for (uint64_t p = 0; p < d->slot_pages; p++) {
		uint64_t cpu = p / d->region_pages, off = p % d->region_pages;
		bool w = cpu < (uint64_t)d->n && off != d->region_pages - 1 &&
			 (op == KQ_DOP_ALL || kq_dirty_pick(seed + cpu, off));
		d->want[p] = all || w;
	}
}

static void list_pages(char *buf, size_t len, json_t *arr, uint64_t n)
{
	size_t at = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(arr) && at < len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%s%lld", i ? ", " : "",
				       (long long)json_integer_value(json_array_get(arr, i)));
	if (n > json_array_size(arr) && at < len)
		snprintf(buf + at, len - at, ", ...");
}

/* Collects the slot's dirty pages through the vmm, timed, and compares them
 * with d->want (what NULL: only collects). */
static int collect(struct dirty *d, const char *what, bool record)
{
	struct kq_dirty_iter it;
	uint64_t t0 = kq_lockstep_now_ns();
	if (kq_dirty_begin(d->vm, d->slot, &it) < 0) {
		kq_result_set_status(d->res, KQ_FAIL, "vcpus=%d %s: %s", d->n,
				     what ? what : "first collection", kq_err());
		return -1;
	}
	uint64_t t1 = kq_lockstep_now_ns();
	memset(d->got, 0, d->slot_pages);
	uint64_t gpa, reported = 0, outside = 0;
	while (kq_dirty_next(&it, &gpa)) {
		uint64_t p = (gpa - KQ_TEST_GPA) / 4096;
		if (p < d->slot_pages)
			d->got[p] = 1;
		else
			outside++;
		reported++;
	}
	kq_dirty_end(&it);
	if (record)
		add(d, P_COLLECT, t1 - t0);
	if (!what)
		return 0;
	uint64_t written = 0, missing = 0, extra = 0;
	json_t *fm = json_array(), *fe = json_array();
	for (uint64_t p = 0; p < d->slot_pages; p++) {
		written += d->want[p];
		if (d->want[p] && !d->got[p] && missing++ < MAX_SHOWN)
			json_array_append_new(fm, json_integer((json_int_t)p));
		if (!d->want[p] && d->got[p] && extra++ < MAX_SHOWN)
			json_array_append_new(fe, json_integer((json_int_t)p));
	}
	json_array_append_new(d->checks,
			      json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "vcpus", d->n,
					"pass", what, "written", (json_int_t)written, "reported",
					(json_int_t)reported, "missing", (json_int_t)missing,
					"extra", (json_int_t)(extra + outside), "first_missing",
					json_deep_copy(fm), "first_extra", json_deep_copy(fe)));
	if (missing || extra || outside) {
		char a[160], b[160];
		list_pages(a, sizeof(a), fm, missing);
		list_pages(b, sizeof(b), fe, extra);
		kq_result_set_status(d->res, KQ_FAIL,
				     "vcpus=%d %s: %llu pages written, %llu reported: %llu missing "
				     "(first pages of the slot: %s), %llu extra (%s)",
				     d->n, what, (unsigned long long)written,
				     (unsigned long long)reported, (unsigned long long)missing,
				     missing ? a : "none", (unsigned long long)(extra + outside),
				     extra ? b : "none");
	}
	json_decref(fm);
	json_decref(fe);
	return 0;
}

static int set_logging(struct dirty *d, bool on, enum phase p)
{
	struct kq_slot_info si;
	if (kq_vm_slot_info(d->vm, d->slot, &si) < 0)
		return -1;
	uint32_t flags = on ? si.flags | KQ_SLOT_LOG_DIRTY : si.flags & ~KQ_SLOT_LOG_DIRTY;
	uint64_t t0 = kq_lockstep_now_ns();
	if (kq_vm_slot_set_flags(d->vm, d->slot, flags) < 0)
		return -1;
	if (p != P_COUNT)
		add(d, p, kq_lockstep_now_ns() - t0);
	return 0;
}

static void stats_delta(struct dirty *d, const struct kq_dirty_stats *a)
{
	struct kq_dirty_stats b;
	kq_vm_dirty_stats(d->vm, &b);
	if (d->mode != KQ_DIRTY_RING)
		add(d, P_GET, b.get_ns - a->get_ns);
	if (d->mode == KQ_DIRTY_BITMAP_MANUAL)
		add(d, P_CLEAR, b.clear_ns - a->clear_ns);
	if (d->mode == KQ_DIRTY_RING) {
		add(d, P_HARVEST, b.harvest_ns - a->harvest_ns);
		add(d, P_RESET, b.reset_ns - a->reset_ns);
	}
}

/* The VMM's own write, which the vmm must merge into the dirty set: the
 * slot's last page, written through kq_vm_write. planted = unrecorded writes
 * it behind the vmm's back instead (a negative control: the page must then
 * be missing and the test FAIL). */
static int host_write(struct dirty *d)
{
	uint64_t gpa = KQ_TEST_GPA + (d->slot_pages - 1) * 4096, tag = 0x686f7374ULL;
	if (strcmp(kq_test_param(d->t, "planted", "no"), "unrecorded") == 0) {
		uint64_t *p = kq_vm_gpa_to_hva(d->vm, gpa, sizeof(tag));
		if (p)
			*p = tag;
		return p ? 0 : -1;
	}
	return kq_vm_write(d->vm, gpa, &tag, sizeof(tag));
}

/* The passes on one VM of d->n vCPUs, VM already running to its first SYNC. */
static int passes(struct dirty *d)
{
	uint64_t ns;
	char what[64];
	/* Whatever creation left dirty is not this test's; then logging off. */
	if (collect(d, NULL, false) < 0)
		return -1;
	if (set_logging(d, false, P_COUNT) < 0 || pass(d, KQ_DOP_ALL, d->seed, &ns) < 0)
		return -1;
	add(d, P_POPULATE, ns);
	if (set_logging(d, true, P_ENABLE) < 0)
		return -1;
	for (int i = 0; i < d->iterations; i++) {
		struct kq_dirty_stats st;
		kq_vm_dirty_stats(d->vm, &st);
		uint64_t seed = d->seed + 1000 * (uint64_t)(i + 1);
		if (pass(d, KQ_DOP_ALL, seed, &ns) < 0)
			return -1;
		add(d, P_WRITE, ns);
		/* With KVM_DIRTY_LOG_INITIALLY_SET, enabling logging reports every
		 * page once (KVM's documented behaviour), then protects them. */
		expect(d, KQ_DOP_ALL, seed, i == 0 && kq_vm_dirty_initially_set(d->vm));
		snprintf(what, sizeof(what), "iteration %d", i + 1);
		if (collect(d, what, true) < 0)
			return -1;
		stats_delta(d, &st);
	}
	uint64_t seed = d->seed ^ 0x5a5a5a5aULL;
	if (pass(d, KQ_DOP_SPARSE, seed, &ns) < 0 || host_write(d) < 0)
		return -1;
	expect(d, KQ_DOP_SPARSE, seed, false);
	d->want[d->slot_pages - 1] = 1;
	if (collect(d, "sparse pass", false) < 0)
		return -1;
	/* Nothing written since: nothing may be reported. */
	memset(d->want, 0, d->slot_pages);
	if (collect(d, "no writes", false) < 0 || set_logging(d, false, P_DISABLE) < 0)
		return -1;
	return pass(d, KQ_DOP_STOP, 0, &ns);
}

static void record(struct dirty *d)
{
	const char *mech = kq_dirty_mode_name(d->mode);
	for (int p = 0; p < P_COUNT; p++) {
		if (!d->nv[p])
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%s.%dvcpu", phase_names[p], d->n);
		kq_costs_metric(d->res, name, "ms/GiB", d->v[p], d->nv[p],
				/* ms/GiB is no time unit to compare: say that less is better. */
				json_pack("{s:s, s:s, s:s, s:i, s:I, s:s, s:s}", "better", "lower",
					  "phase", phase_names[p], "mechanism", mech, "vcpus", d->n,
					  "memory", (json_int_t)d->mem, "page_size",
					  kq_page_size_name((enum kq_pagesz)d->t->page_size),
					  "backing", kq_backing_name(d->t->backing)));
		d->nv[p] = 0;
	}
}

/* One VM of n vCPUs: 0, or -1 when the result is set (SKIP or FAIL). */
static int one_count(struct dirty *d, int n, json_t *ev)
{
	d->n = n;
	memset(d->nv, 0, sizeof(d->nv)); /* nothing left over from a count that failed */
	/* The slot's last page is the host's own (see host_write). */
	d->region_pages = (d->slot_pages - 1) / (uint64_t)n;
	struct kq_vm_config cfg = {
	    .vcpus = n,
	    .test_mem = d->mem,
	    .backing = (enum kq_backing)d->t->backing,
	    .page_size = (enum kq_pagesz)d->t->page_size,
	    .time_limit_s = d->t->time_limit_s * 0.9,
	    .workload = "memory.passes",
	    .dirty = d->mode,
	    .dirty_ring_entries = (uint32_t)kq_test_param_int(d->t, "ring_entries", 4096),
	};
	if (kq_vm_create(&d->vm, &d->kvm, &cfg) < 0) {
		kq_result_set_status(d->res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL,
				     "vcpus=%d: %s", n, kq_err());
		return -1;
	}
	int rc = -1;
	d->slot = kq_vm_slot_find(d->vm, KQ_TEST_GPA);
	if (d->slot < 0 || kq_lockstep_start(&d->ls, d->vm) < 0) {
		kq_result_set_status(d->res, KQ_FAIL, "vcpus=%d: %s", n, kq_err());
		goto out;
	}
	int r = kq_lockstep_wait(&d->ls, d->t->time_limit_s);
	if (r != 0)
		kq_result_set_status(d->res, KQ_FAIL,
				     "vcpus=%d: the guest did not reach its SYNC: %s", n,
				     d->ls.failure);
	else if (passes(d) == 0)
		rc = 0;
	else if (kq_result_status(d->res) == KQ_PASS)
		kq_result_set_status(d->res, KQ_FAIL, "vcpus=%d: %s", n, kq_err());
	kq_lockstep_end(&d->ls);
	record(d);
	struct kq_dirty_stats st;
	kq_vm_dirty_stats(d->vm, &st);
	char key[16];
	snprintf(key, sizeof(key), "%d", n);
	json_object_set_new(
	    ev, key,
	    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "get_calls", (json_int_t)st.get_calls,
		      "clear_calls", (json_int_t)st.clear_calls, "ring_entries_harvested",
		      (json_int_t)st.harvested, "ring_entries_foreign", (json_int_t)st.foreign,
		      "resets", (json_int_t)st.resets, "ring_full_exits", (json_int_t)st.ring_full,
		      "ring_full_already_harvested", (json_int_t)st.ring_full_idle));
out:
	kq_vm_destroy(d->vm);
	d->vm = NULL;
	return rc;
}

static const struct kq_param_spec dirty_params[] = {
    {"mechanism", KQ_PT_STRING, "bitmap, bitmap-manual or ring (default bitmap)"},
    {"max_vcpus", KQ_PT_INT, "most vCPUs (default: the CPUs available); runs 1, 2, 4 .. max"},
    {"iterations", KQ_PT_INT, "write passes with logging on (default 3; --quick 2)"},
    {"quick_memory", KQ_PT_SIZE, "slot size with --quick when memory is not set (default 64M)"},
    {"ring_entries", KQ_PT_INT, "dirty ring entries per vCPU, a power of two (default 4096)"},
    {"seed", KQ_PT_U64, "seed of the sparse pass (default 1)"},
    {"planted", KQ_PT_STRING,
     "unrecorded: the host's own write bypasses the vmm (a negative "
     "control that must FAIL; default no)"},
    {NULL, 0, NULL},
};

static int validate(const struct kq_test *t, char *err, size_t errlen, const char **key)
{
	const char *m = kq_test_param(t, "mechanism", "bitmap");
	int mode = kq_dirty_mode_parse(m);
	if (mode != KQ_DIRTY_BITMAP && mode != KQ_DIRTY_BITMAP_MANUAL && mode != KQ_DIRTY_RING) {
		snprintf(err, errlen, "mechanism = %s: one of bitmap, bitmap-manual, ring", m);
		*key = "mechanism";
		return -1;
	}
	const char *pl = kq_test_param(t, "planted", "no");
	if (strcmp(pl, "no") != 0 && strcmp(pl, "unrecorded") != 0) {
		snprintf(err, errlen, "planted = %s: no or unrecorded", pl);
		*key = "planted";
		return -1;
	}
	int64_t it = kq_test_param_int(t, "iterations", 3),
		mv = kq_test_param_int(t, "max_vcpus", 1);
	if (it < 1 || it > MAX_ITER) {
		snprintf(err, errlen, "iterations = %lld: from 1 to %d", (long long)it, MAX_ITER);
		*key = "iterations";
		return -1;
	}
	int64_t re = kq_test_param_int(t, "ring_entries", 4096);
	if (re < 64 || re > 65536 || (re & (re - 1))) {
		snprintf(err, errlen, "ring_entries = %lld: a power of two from 64 to 65536",
			 (long long)re);
		*key = "ring_entries";
		return -1;
	}
	if (mv < 1 || mv > KQ_MAX_CPUS) {
		snprintf(err, errlen, "max_vcpus = %lld: from 1 to %d", (long long)mv, KQ_MAX_CPUS);
		*key = "max_vcpus";
		return -1;
	}
	return 0;
}

static void run_dirty(const struct kq_driver *drv, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct dirty d = {.res = res, .t = t};
	d.mode = (enum kq_dirty_mode)kq_dirty_mode_parse(kq_test_param(t, "mechanism", "bitmap"));
	d.mem = kq_costs_memory(t, o, 64ULL << 20, 1ULL << 30, 16ULL << 20);
	d.slot_pages = d.mem / 4096;
	d.iterations = (int)kq_test_param_int(t, "iterations", o->quick ? 2 : 3);
	d.seed = (uint64_t)kq_test_param_int(t, "seed", 1);
	int max = (int)kq_test_param_int(t, "max_vcpus", kq_costs_cpus_available());
	kq_result_set_evidence(res, "paging", kq_probe_paging(""));
	kq_result_set_evidence(res, "memory", json_integer((json_int_t)d.mem));
	if (kq_kvm_open(&d.kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	d.want = malloc(d.slot_pages);
	d.got = malloc(d.slot_pages);
	d.checks = json_array();
	json_t *ev = json_object();
	int counts[16];
	int nc = kq_costs_doublings(max, counts, 16);
	for (int i = 0; i < nc && d.want && d.got; i++)
		if (one_count(&d, counts[i], ev) < 0 && kq_result_status(res) == KQ_SKIP)
			break;
	if (!d.want || !d.got)
		kq_result_set_status(res, KQ_FAIL, "out of memory for the page sets");
	kq_result_set_evidence(res, "exact", d.checks);
	kq_result_set_evidence(res, "dirty_stats", ev);
	free(d.want);
	free(d.got);
	kq_kvm_close(&d.kvm);
}

static const struct kq_driver memory_dirty_log = {
    .name = "memory.dirty-log",
    .summary = "dirty logging per GiB for 1..N vCPUs (enable, write pass, get, clear, ring "
	       "harvest and reset, disable), the dirty set checked page by page",
    .needs_kvm = true,
    .params = dirty_params,
    .run = run_dirty,
    .validate = validate,
};
KQ_DRIVER(memory_dirty_log)
