/* memory.slots: memslot operations in the manner of memslot_perf_test. For
 * 1, 2, 4 .. K slots on one VM whose vCPU has run: the time of each slot's
 * add, move and delete through the vmm (KVM_SET_USER_MEMORY_REGION; a move
 * is delete + add, as the vmm and QEMU do it). Between move and delete the
 * guest reads a tag from every slot at its new address: a move KVM did not
 * make is an MMIO exit or a wrong tag, and a FAIL. */
#include "workloads/lockstep.h"
#include "workloads/memory_costs.h"
#include "workloads/memory_costs_abi.h"
#include "vmm/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS_BASE (64ULL << 30) /* far above the test region */
#define MAX_COUNTS 16

enum op { OP_ADD, OP_MOVE, OP_DELETE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"add", "move", "delete"};

struct slots {
	struct kq_result *res;
	const struct kq_test *t;
	struct kq_kvm kvm;
	uint64_t size, seed;
	enum kq_backing backing;
};

static int reply(struct kq_vcpu *v, uint64_t op, uint64_t base, uint64_t n, uint64_t seed,
		 uint64_t stride)
{
	return kq_vcpu_ucall_reply(v, KQ_DJ_OP, op) | kq_vcpu_ucall_reply(v, KQ_DJ_BASE, base) |
	       kq_vcpu_ucall_reply(v, KQ_DJ_PAGES, n) | kq_vcpu_ucall_reply(v, KQ_DJ_SEED, seed) |
	       kq_vcpu_ucall_reply(v, KQ_DJ_STRIDE, stride);
}

static void record(struct slots *s, int k, double *us[OP_COUNT])
{
	for (int o = 0; o < OP_COUNT; o++) {
		char name[48];
		snprintf(name, sizeof(name), "%s.%dslots", op_names[o], k);
		kq_costs_metric(s->res, name, "us", us[o], (size_t)k,
				json_pack("{s:s, s:i, s:I, s:s}", "op", op_names[o], "slots", k,
					  "slot_size", (json_int_t)s->size, "backing",
					  kq_backing_name(s->backing)));
	}
}

/* The operations on k slots, on vm whose vCPU waits at its first SYNC. */
static int ops(struct slots *s, struct kq_vm *vm, struct kq_lockstep *ls, int k,
	       double *us[OP_COUNT])
{
	uint64_t stride = 2 * s->size; /* room to move each slot up by its size */
	int *ids = calloc((size_t)k, sizeof(*ids));
	int rc = -1;
	if (!ids || kq_vm_map(vm, SLOTS_BASE, (uint64_t)k * stride, KQ_PG_2M) < 0)
		goto out;
	for (int i = 0; i < k; i++) {
		struct kq_mem m;
		char name[32];
		snprintf(name, sizeof(name), "bench%d", i);
		if (kq_mem_alloc(&m, s->size, s->backing) < 0)
			goto out;
		*(uint64_t *)m.host = kq_slot_tag(s->seed, (uint64_t)i);
		uint64_t t0 = kq_lockstep_now_ns();
		ids[i] = kq_vm_slot_add_mem(vm, name, SLOTS_BASE + (uint64_t)i * stride, &m, 0);
		us[OP_ADD][i] = (double)(kq_lockstep_now_ns() - t0) / 1e3;
		if (ids[i] < 0) {
			kq_mem_free(&m);
			goto out;
		}
	}
	for (int i = 0; i < k; i++) {
		uint64_t t0 = kq_lockstep_now_ns();
		if (kq_vm_slot_move(vm, ids[i], SLOTS_BASE + (uint64_t)i * stride + s->size) < 0)
			goto out;
		us[OP_MOVE][i] = (double)(kq_lockstep_now_ns() - t0) / 1e3;
	}
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	if (reply(v, KQ_DOP_READ, SLOTS_BASE + s->size, (uint64_t)k, s->seed, stride) < 0)
		goto out;
	kq_lockstep_release(ls);
	if (kq_lockstep_wait(ls, s->t->time_limit_s) != 0) {
		kq_result_set_status(s->res, KQ_FAIL,
				     "slots=%d: the guest did not read every moved slot: %s", k,
				     ls->failure);
		rc = -2;
		goto out;
	}
	for (int i = 0; i < k; i++) {
		uint64_t t0 = kq_lockstep_now_ns();
		if (kq_vm_slot_delete(vm, ids[i]) < 0)
			goto out;
		us[OP_DELETE][i] = (double)(kq_lockstep_now_ns() - t0) / 1e3;
		ids[i] = -1;
	}
	if (reply(v, KQ_DOP_STOP, 0, 0, 0, 0) < 0)
		goto out;
	kq_lockstep_release(ls);
	rc = kq_lockstep_wait(ls, s->t->time_limit_s) == 1 ? 0 : -1;
out:
	free(ids);
	return rc;
}

/* One VM with k added slots: 0, or -1 with the result set. */
static int one_count(struct slots *s, int k)
{
	struct kq_vm_config cfg = {
	    .vcpus = 1, .time_limit_s = s->t->time_limit_s * 0.9, .workload = "memory.passes"};
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &s->kvm, &cfg) < 0) {
		kq_result_set_status(s->res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL,
				     "slots=%d: %s", k, kq_err());
		return -1;
	}
	struct kq_lockstep ls;
	double *us[OP_COUNT] = {calloc((size_t)k, 8), calloc((size_t)k, 8), calloc((size_t)k, 8)};
	int rc = -1;
	if (!us[0] || !us[1] || !us[2])
		kq_result_set_status(s->res, KQ_FAIL, "out of memory");
	else if (kq_lockstep_start(&ls, vm) < 0)
		kq_result_set_status(s->res, KQ_FAIL, "slots=%d: %s", k, kq_err());
	else {
		if (kq_lockstep_wait(&ls, s->t->time_limit_s) != 0)
			kq_result_set_status(s->res, KQ_FAIL,
					     "slots=%d: the guest did not start: %s", k,
					     ls.failure);
		else if ((rc = ops(s, vm, &ls, k, us)) == 0)
			record(s, k, us);
		else if (rc == -1)
			kq_result_set_status(s->res, KQ_FAIL, "slots=%d: %s", k,
					     ls.failure[0] ? ls.failure : kq_err());
		kq_lockstep_end(&ls);
	}
	for (int o = 0; o < OP_COUNT; o++)
		free(us[o]);
	kq_vm_destroy(vm);
	return rc == 0 ? 0 : -1;
}

/* Slots the VM already uses (system, page tables), to stay inside the cap. */
static int slots_in_use(struct kq_kvm *kvm, int *max)
{
	struct kq_vm_config cfg = {.vcpus = 1, .workload = "memory.passes"};
	struct kq_vm *vm;
	if (kq_vm_create(&vm, kvm, &cfg) < 0)
		return -1;
	int used = 0;
	for (int id = kq_vm_slot_next(vm, -1); id >= 0; id = kq_vm_slot_next(vm, id))
		used++;
	*max = kq_vm_max_slots(vm);
	kq_vm_destroy(vm);
	return used;
}

static const struct kq_param_spec slots_params[] = {
    {"max_slots", KQ_PT_INT,
     "most slots added (default 256; --quick 32), capped by "
     "KVM_CAP_NR_MEMSLOTS"},
    {"slot_size", KQ_PT_SIZE, "bytes per slot, a multiple of 2M (default 2M)"},
    {NULL, 0, NULL},
};

static int validate(const struct kq_test *t, char *err, size_t errlen, const char **key)
{
	uint64_t sz = kq_test_param_size(t, "slot_size", 2ULL << 20);
	int64_t k = kq_test_param_int(t, "max_slots", 256);
	if (!sz || sz % (2ULL << 20)) {
		snprintf(err, errlen, "slot_size = %llu: a non-zero multiple of 2M",
			 (unsigned long long)sz);
		*key = "slot_size";
		return -1;
	}
	if (k < 1 || k > 32764) {
		snprintf(err, errlen, "max_slots = %lld: from 1 to 32764", (long long)k);
		*key = "max_slots";
		return -1;
	}
	return 0;
}

static void run_slots(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct slots s = {.res = res, .t = t, .seed = 0x51075eedULL};
	s.size = kq_test_param_size(t, "slot_size", 2ULL << 20);
	s.backing = (enum kq_backing)t->backing;
	int want = (int)kq_test_param_int(t, "max_slots", o->quick ? 32 : 256), cap = 0;
	if (kq_kvm_open(&s.kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	int used = slots_in_use(&s.kvm, &cap);
	if (used < 0) {
		kq_result_set_status(res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL, "%s",
				     kq_err());
		goto out;
	}
	/* Headroom for a page-table slot the mapping may add. */
	int k = want < cap - used - 2 ? want : cap - used - 2;
	kq_result_set_evidence(res, "nr_memslots", json_integer(cap));
	kq_result_set_evidence(res, "slots_in_use", json_integer(used));
	kq_result_set_evidence(res, "max_slots", json_integer(k));
	if (k < 1) {
		kq_result_set_status(res, KQ_SKIP, "KVM_CAP_NR_MEMSLOTS is %d and the VM uses %d",
				     cap, used);
		goto out;
	}
	if (k < want)
		kq_result_diag(res, "max_slots %d capped at %d by KVM_CAP_NR_MEMSLOTS %d", want, k,
			       cap);
	int counts[MAX_COUNTS];
	int n = kq_costs_doublings(k, counts, MAX_COUNTS);
	for (int i = 0; i < n; i++)
		if (one_count(&s, counts[i]) < 0)
			break;
out:
	kq_kvm_close(&s.kvm);
}

static const struct kq_driver memory_slots = {
    .name = "memory.slots",
    .summary = "memslot add, move and delete times with 1..K slots; the guest reads every moved "
	       "slot",
    .needs_kvm = true,
    .params = slots_params,
    .run = run_slots,
    .validate = validate,
};
KQ_DRIVER(memory_slots)
