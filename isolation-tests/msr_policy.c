/* Test 4b, MSR policy. msr-filter: under a deny-by-default MSR filter, every
 * MSR of the host's index list (KVM_GET_MSR_INDEX_LIST) read in the guest
 * must give #GP or a userspace exit with reason FILTER, never a value.
 * msr-host-values: with KVM's default configuration, no MSR the guest reads
 * may hold the host's own private value (kernel entry points, per-CPU bases:
 * msr_policy_host.c), compared against /dev/cpu/N/msr where the host can
 * read it; SKIP of that comparison with the reason where it cannot. */
#include "isolation-tests/iso_common.h"
#include "isolation-tests/msr_policy_abi.h"
#include "isolation-tests/msr_policy_host.h"
#include "isolation-tests/plant.h"
#include "vmm/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum msr_mode { MODE_FILTER, MODE_HOST_VALUES };

struct msr_run {
	struct kq_msr_table *table;
	uint32_t *exits;       /* userspace RDMSR exits per probe */
	uint32_t *exit_reason; /* the last one's reason */
	uint32_t *exit_index;  /* and the MSR it named */
	int stray;	       /* exits with no probe in progress */
};

static int on_rdmsr(void *ctx, struct kq_vcpu *v, struct kvm_run *run)
{
	struct msr_run *m = ctx;
	uint64_t cur = __atomic_load_n(&m->table->current, __ATOMIC_ACQUIRE);
	if (run->exit_reason == KVM_EXIT_X86_RDMSR && cur < m->table->n) {
		m->exits[cur]++;
		m->exit_reason[cur] = run->msr.reason;
		m->exit_index[cur] = run->msr.index;
	} else {
		m->stray++;
	}
	run->msr.error = 1; /* refused: KVM injects #GP */
	return 0;
}

static int index_list(struct kq_kvm *kvm, struct kvm_msr_list **out)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe) == 0 || errno != E2BIG)
		return kq_err_errno("ioctl KVM_GET_MSR_INDEX_LIST (size)");
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return kq_err_set("out of memory for %u MSR indices", probe.nmsrs);
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return kq_err_errno("ioctl KVM_GET_MSR_INDEX_LIST");
	}
	*out = l;
	return 0;
}

/* The MSR the plant lets through: one the guest can read when allowed. */
static uint32_t plant_choice(const struct kvm_msr_list *l)
{
	for (uint32_t i = 0; i < l->nmsrs; i++)
		if (l->indices[i] == 0x174)
			return 0x174;
	return l->nmsrs ? l->indices[0] : 0x174;
}

static int set_filter(struct kq_kvm *kvm, struct kq_vm *vm, const struct kvm_msr_list *l,
		      struct kq_result *res, json_t *ev)
{
	if (KQ_KVM_CHECK(kvm->fd, KVM_CAP_X86_MSR_FILTER) <= 0) {
		kq_result_set_status(res, KQ_SKIP, "no KVM_CAP_X86_MSR_FILTER on this host");
		return -1;
	}
	/* KVM refuses deny-by-default without a range: one range denies MSR 0. */
	static uint8_t deny = 0, allow = 1;
	struct kvm_msr_filter f = {.flags = KVM_MSR_FILTER_DEFAULT_DENY};
	f.ranges[0] = (struct kvm_msr_filter_range){
	    .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, .nmsrs = 1, .bitmap = &deny};
	if (kq_iso_planted("msr", res)) {
		uint32_t m = plant_choice(l);
		f.ranges[0] = (struct kvm_msr_filter_range){
		    .flags = KVM_MSR_FILTER_READ, .nmsrs = 1, .base = m, .bitmap = &allow};
		char s[16];
		snprintf(s, sizeof(s), "0x%x", m);
		json_object_set_new(ev, "planted_allowed_msr", json_string(s));
	}
	bool user = KQ_KVM_CHECK(kvm->fd, KVM_CAP_X86_USER_SPACE_MSR) > 0;
	json_object_set_new(ev, "userspace_msr_exits", json_boolean(user));
	if ((user &&
	     kq_vm_enable_cap(vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER) < 0) ||
	    kq_vm_set_msr_filter(vm, &f) < 0) {
		kq_iso_vmm_error(res, "setting the deny-by-default MSR filter");
		return -1;
	}
	return 0;
}

static void hex64(json_t *o, const char *k, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	json_object_set_new(o, k, json_string(s));
}

static void judge_filter(const struct msr_run *m, struct kq_result *res, json_t *ev)
{
	const struct kq_msr_table *t = m->table;
	int exits = 0, gp_only = 0, leaked = 0, wrong = 0;
	json_t *vals = json_array();
	char first[256] = "";
	for (uint32_t i = 0; i < t->n; i++) {
		const struct kq_msr_probe *p = &t->p[i];
		if (m->exits[i] && (m->exit_index[i] != p->index ||
				    m->exit_reason[i] != KVM_MSR_EXIT_REASON_FILTER)) {
			if (!wrong++ && !first[0])
				snprintf(first, sizeof(first),
					 "RDMSR 0x%x left KVM naming MSR 0x%x, reason 0x%x",
					 p->index, m->exit_index[i], m->exit_reason[i]);
		}
		if (!p->gp) {
			json_t *o = json_object();
			hex64(o, "msr", p->index);
			hex64(o, "value", p->value);
			json_array_append_new(vals, o);
			if (!leaked++)
				snprintf(first, sizeof(first),
					 "denied MSR 0x%x read as 0x%llx in the guest (no #GP, no "
					 "userspace exit)",
					 p->index, (unsigned long long)p->value);
			continue;
		}
		if (m->exits[i])
			exits++;
		else
			gp_only++;
	}
	kq_result_add_value(res, "msrs_checked", "msrs", t->n);
	json_object_set_new(ev, "userspace_exits_filter", json_integer(exits));
	json_object_set_new(ev, "gp_in_kernel", json_integer(gp_only));
	json_object_set_new(ev, "values_read", vals);
	if (m->stray)
		json_object_set_new(ev, "stray_exits", json_integer(m->stray));
	if (leaked || wrong)
		kq_result_set_status(res, KQ_FAIL, "%d of %u denied MSRs gave a value%s; first: %s",
				     leaked, t->n, wrong ? " or a wrong exit" : "", first);
	else
		kq_result_set_status(res, KQ_PASS,
				     "%u MSRs denied: %d userspace exits (reason FILTER), %d #GP "
				     "from KVM, no value",
				     t->n, exits, gp_only);
}

static void judge_host_values(const struct kq_msr_table *t, struct kq_result *res, json_t *ev)
{
	int gp = 0;
	for (uint32_t i = 0; i < t->n; i++)
		gp += t->p[i].gp;
	kq_result_add_value(res, "msrs_checked", "msrs", t->n);
	json_object_set_new(ev, "guest_gp", json_integer(gp));
	struct kq_host_msrs h;
	char why[256];
	if (kq_host_msrs_open(&h, why, sizeof(why)) < 0) {
		kq_result_set_status(res, KQ_SKIP,
				     "the guest read %u MSRs (%d #GP), but the host's own values "
				     "cannot be compared: %s",
				     t->n, gp, why);
		return;
	}
	uint64_t *hv = calloc((size_t)h.ncpus, sizeof(*hv));
	bool *ok = calloc((size_t)h.ncpus, sizeof(*ok));
	json_t *leaks = json_array(), *equal = json_array();
	int compared = 0;
	char first[256] = "";
	for (uint32_t i = 0; hv && ok && i < t->n; i++) {
		const struct kq_msr_probe *p = &t->p[i];
		if (p->gp)
			continue;
		bool any = false;
		for (int c = 0; c < h.ncpus; c++)
			any |= ok[c] = kq_host_msr_read(&h, c, p->index, &hv[c]) == 0;
		compared += any;
		int c = kq_msr_host_leak(p->index, p->value, hv, ok, h.ncpus);
		json_t *o = json_object();
		hex64(o, "msr", p->index);
		hex64(o, "value", p->value);
		if (c >= 0) {
			json_object_set_new(o, "host_cpu", json_integer(c));
			json_array_append_new(leaks, o);
			if (!first[0])
				snprintf(
				    first, sizeof(first),
				    "MSR 0x%x reads 0x%llx in the guest: host CPU %d's own value",
				    p->index, (unsigned long long)p->value, c);
		} else if (p->value && any && ok[0] && hv[0] == p->value) {
			json_array_append_new(equal, o); /* same configuration, not private */
		} else {
			json_decref(o);
		}
	}
	json_object_set_new(ev, "host_cpus", json_integer(h.ncpus));
	json_object_set_new(ev, "compared_with_host", json_integer(compared));
	json_object_set_new(ev, "host_private_values_seen", leaks);
	json_object_set_new(ev, "equal_configuration_values", equal);
	if (first[0])
		kq_result_set_status(res, KQ_FAIL, "%s", first);
	else
		kq_result_set_status(res, KQ_PASS,
				     "%u MSRs read in the guest, %d compared with %d host CPUs: no "
				     "host-private value seen",
				     t->n, compared, h.ncpus);
	free(hv);
	free(ok);
	kq_host_msrs_close(&h);
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		struct kq_result *res)
{
	enum msr_mode mode = *(const enum msr_mode *)d->data;
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	struct kq_vm *vm = NULL;
	struct kvm_msr_list *l = NULL;
	struct msr_run m = {0};
	json_t *ev = json_object();
	if (index_list(&kvm, &l) < 0) {
		kq_iso_vmm_error(res, "the MSR index list");
		goto out;
	}
	json_object_set_new(ev, "index_list_msrs", json_integer(l->nmsrs));
	struct kq_vm_config cfg = kq_iso_config("iso.msr-read", t->time_limit_s);
	if (kq_vm_create(&vm, &kvm, &cfg) < 0) {
		kq_iso_vmm_error(res, "creating the VM");
		goto out;
	}
	m.table = kq_iso_table(vm, sizeof(*m.table));
	m.table->n = l->nmsrs < KQ_MSR_MAX ? l->nmsrs : KQ_MSR_MAX;
	for (uint32_t i = 0; i < m.table->n; i++)
		m.table->p[i].index = l->indices[i];
	m.exits = calloc(KQ_MSR_MAX, sizeof(uint32_t));
	m.exit_reason = calloc(KQ_MSR_MAX, sizeof(uint32_t));
	m.exit_index = calloc(KQ_MSR_MAX, sizeof(uint32_t));
	if (!m.exits || !m.exit_reason || !m.exit_index) {
		kq_result_set_status(res, KQ_FAIL, "out of memory");
		goto out;
	}
	if (mode == MODE_FILTER &&
	    (set_filter(&kvm, vm, l, res, ev) < 0 ||
	     kq_vm_register_exit(vm, KVM_EXIT_X86_RDMSR, on_rdmsr, &m) < 0)) {
		if (kq_result_status(res) == KQ_PASS)
			kq_iso_vmm_error(res, "the RDMSR exit handler");
		goto out;
	}
	if (kq_vm_run(vm) < 0 || !m.table->finished) {
		kq_result_set_status(res, KQ_FAIL, "the guest did not finish: %s",
				     kq_vm_failure(vm));
		goto out;
	}
	if (mode == MODE_FILTER)
		judge_filter(&m, res, ev);
	else
		judge_host_values(m.table, res, ev);
out:
	kq_result_set_evidence(res, "msr", ev);
	free(m.exits);
	free(m.exit_reason);
	free(m.exit_index);
	free(l);
	kq_vm_destroy(vm);
	kq_kvm_close(&kvm);
}

static const enum msr_mode filter_mode = MODE_FILTER, host_values_mode = MODE_HOST_VALUES;

static const struct kq_driver drivers[] = {
    {
	.name = "isolation.msr-filter",
	.summary = "under a deny-by-default MSR filter no listed MSR gives the guest a value",
	.needs_kvm = true,
	.run = run,
	.data = &filter_mode,
    },
    {
	.name = "isolation.msr-host-values",
	.summary = "no MSR the guest reads holds the host's own private value",
	.needs_kvm = true,
	.run = run,
	.data = &host_values_mode,
    },
};
KQ_DRIVER_TABLE(drivers)
