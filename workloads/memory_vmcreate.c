/* memory.vm-create: what setting up a VM costs against its memory size, from
 * 64 MiB doubling to the memory workloads' maximum (min(1 GiB, 25% of
 * MemAvailable); small in the emulated host): kq_vm_create (the VM, its
 * memslots, the guest page tables for the whole test region at the test's
 * page size, the vCPU with its registers), the time to the vCPU's first exit
 * (from the start of creation), and kq_vm_destroy. */
#include "workloads/lockstep.h"
#include "workloads/memory_costs.h"
#include "vmm/err.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_SIZES 16
#define MAX_REPS  64

enum { T_CREATE, T_FIRST_EXIT, T_DESTROY, T_COUNT };
static const char *const t_names[T_COUNT] = {"create", "first_exit", "destroy"};

static const struct kq_param_spec vmcreate_params[] = {
    {"repeats", KQ_PT_INT, "VMs built per size (default 5; --quick 3)"},
    {"quick_memory", KQ_PT_SIZE, "largest size with --quick when memory is not set (default 256M)"},
    {NULL, 0, NULL},
};

static int validate(const struct kq_test *t, char *err, size_t errlen, const char **key)
{
	int64_t r = kq_test_param_int(t, "repeats", 5);
	if (r < 1 || r > MAX_REPS) {
		snprintf(err, errlen, "repeats = %lld: from 1 to %d", (long long)r, MAX_REPS);
		*key = "repeats";
		return -1;
	}
	return 0;
}

/* One VM of `size` bytes: the three times in ms; -1 with the result set. */
static int one_vm(const struct kq_test *t, struct kq_kvm *kvm, uint64_t size, double ms[T_COUNT],
		  uint64_t *pt_bytes, struct kq_result *res)
{
	struct kq_vm_config cfg = {
	    .vcpus = 1,
	    .test_mem = size,
	    .backing = (enum kq_backing)t->backing,
	    .page_size = (enum kq_pagesz)t->page_size,
	    .time_limit_s = t->time_limit_s * 0.9,
	    .workload = "memory.passes",
	};
	struct kq_vm *vm;
	uint64_t t0 = kq_lockstep_now_ns();
	if (kq_vm_create(&vm, kvm, &cfg) < 0) {
		kq_result_set_status(res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL,
				     "memory %llu MiB: %s", (unsigned long long)(size >> 20),
				     kq_err());
		return -1;
	}
	uint64_t t1 = kq_lockstep_now_ns();
	struct kq_vcpu_event ev = {.kind = KQ_EV_FAILED};
	/* The vmm handles BOOT (the first exit) and returns at the first SYNC. */
	if (kq_vcpu_run_once(kq_vm_vcpu(vm, 0), &ev) < 0 || ev.kind != KQ_EV_UCALL ||
	    ev.ucall != KQ_UC_SYNC) {
		kq_result_set_status(res, KQ_FAIL,
				     "memory %llu MiB: the guest did not reach its "
				     "SYNC (event %d): %s",
				     (unsigned long long)(size >> 20), (int)ev.kind,
				     kq_vcpu_failure(kq_vm_vcpu(vm, 0))[0]
					 ? kq_vcpu_failure(kq_vm_vcpu(vm, 0))
					 : kq_err());
		kq_vm_destroy(vm);
		return -1;
	}
	*pt_bytes = kq_vm_pt_bytes(vm);
	ms[T_FIRST_EXIT] = (double)kq_vm_startup_ns(vm) / 1e6;
	uint64_t t2 = kq_lockstep_now_ns();
	kq_vm_destroy(vm);
	ms[T_CREATE] = (double)(t1 - t0) / 1e6;
	ms[T_DESTROY] = (double)(kq_lockstep_now_ns() - t2) / 1e6;
	return 0;
}

static void run_vmcreate(const struct kq_driver *d, const struct kq_test *t,
			 const struct kq_run_opts *o, struct kq_result *res)
{
	uint64_t max = kq_costs_memory(t, o, 256ULL << 20, 1ULL << 30, 128ULL << 20);
	int reps = (int)kq_test_param_int(t, "repeats", o->quick ? 3 : 5);
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	json_t *pt = json_object();
	for (uint64_t size = 64ULL << 20;; size *= 2) {
		if (size > max)
			size = max;
		double v[T_COUNT][MAX_REPS];
		uint64_t pt_bytes = 0;
		int r = 0;
		for (; r < reps; r++) {
			double ms[T_COUNT];
			if (one_vm(t, &kvm, size, ms, &pt_bytes, res) < 0)
				break;
			for (int k = 0; k < T_COUNT; k++)
				v[k][r] = ms[k];
		}
		if (r < reps)
			break;
		char key[32];
		snprintf(key, sizeof(key), "%llu", (unsigned long long)size);
		json_object_set_new(pt, key, json_integer((json_int_t)pt_bytes));
		for (int k = 0; k < T_COUNT; k++) {
			char name[48];
			snprintf(name, sizeof(name), "%s.%lluM", t_names[k],
				 (unsigned long long)(size >> 20));
			kq_costs_metric(res, name, "ms", v[k], (size_t)reps,
					json_pack("{s:s, s:I, s:s, s:s}", "op", t_names[k],
						  "memory", (json_int_t)size, "page_size",
						  kq_page_size_name((enum kq_pagesz)t->page_size),
						  "backing", kq_backing_name(t->backing)));
		}
		if (size >= max)
			break;
	}
	kq_result_set_evidence(res, "page_table_bytes", pt);
	kq_kvm_close(&kvm);
}

static const struct kq_driver memory_vm_create = {
    .name = "memory.vm-create",
    .summary = "VM creation, time to the first exit and destruction against guest memory size",
    .needs_kvm = true,
    .params = vmcreate_params,
    .run = run_vmcreate,
    .validate = validate,
};
KQ_DRIVER(memory_vm_create)
