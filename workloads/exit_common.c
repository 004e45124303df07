/* The generic exit-kind driver and the helpers the kinds share. */
#include "workloads/exit_common.h"
#include "vmm/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KQ_EXIT_MAX_KINDS 64

static struct kq_driver drivers[KQ_EXIT_MAX_KINDS];
static int nkinds;

uint64_t kq_exit_measured_iters(const struct kq_result *res, const char *kind)
{
	char name[96];
	snprintf(name, sizeof(name), "%s.cycles", kind);
	json_t *m = kq_result_find_metric(res, name);
	if (!m) {
		/* Multi-vCPU VMs name the samples after the vCPU that sent them. */
		snprintf(name, sizeof(name), "vcpu0.%s.cycles", kind);
		m = kq_result_find_metric(res, name);
	}
	if (!m)
		return 0;
	json_int_t n = json_integer_value(json_object_get(json_object_get(m, "stats"), "n"));
	json_int_t b =
	    json_integer_value(json_object_get(json_object_get(m, "labels"), "batch_size"));
	return n > 0 && b > 0 ? (uint64_t)n * (uint64_t)b : 0;
}

int64_t kq_exit_evidence_count(const struct kq_result *res, const char *key, const char *name)
{
	json_t *e = json_object_get(json_object_get(res->obj, "evidence"), key);
	if (!e)
		return -1;
	json_t *v = json_object_get(e, name);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* The exit must have happened where the kind says: KVM's own counter of it
 * grew, and userspace saw each access (or none of them). */
static void check_evidence(struct kq_exit_ctx *c)
{
	const struct kq_exit_kind *k = c->k;
	uint64_t iters = kq_exit_measured_iters(c->res, k->kind);
	if (!iters) {
		kq_result_set_status(c->res, KQ_FAIL,
				     "the guest finished without sending %s samples", k->kind);
		return;
	}
	if (k->stat) {
		int64_t d = kq_exit_evidence_count(c->res, "kvm_stats_vcpu0", k->stat);
		/* Hosts that run the guest through KVM's instruction emulator (no
		 * hardware virtualization underneath) handle the access there and
		 * never count the exit; their emulation counter shows the work. */
		int64_t emu = kq_exit_evidence_count(c->res, "kvm_stats_vcpu0", "insn_emulation");
		if (d < 0)
			kq_result_diag(c->res, "KVM statistics unavailable: %s not checked",
				       k->stat);
		else if ((uint64_t)d < iters && emu >= 0 && (uint64_t)emu >= iters)
			kq_result_diag(
			    c->res,
			    "KVM counted %lld %s but emulated %lld instructions for %llu "
			    "measured %s: handled by KVM's instruction emulator",
			    (long long)d, k->stat, (long long)emu, (unsigned long long)iters,
			    k->kind);
		else if ((uint64_t)d < iters)
			kq_result_set_status(c->res, KQ_FAIL,
					     "KVM counted %lld %s on vCPU 0 for %llu measured %s: "
					     "the exit did not happen where expected",
					     (long long)d, k->stat, (unsigned long long)iters,
					     k->kind);
	}
	if (k->user_exit && k->user_expect != KQ_UEXIT_ANY) {
		int64_t n = kq_exit_evidence_count(c->res, "userspace_exits", k->user_exit);
		if (n < 0)
			n = 0;
		if (k->user_expect == KQ_UEXIT_EACH && (uint64_t)n < iters)
			kq_result_set_status(
			    c->res, KQ_FAIL,
			    "only %lld KVM_EXIT_%s reached userspace for %llu measured "
			    "%s: expected one each",
			    (long long)n, k->user_exit, (unsigned long long)iters, k->kind);
		if (k->user_expect == KQ_UEXIT_FEW && (uint64_t)n >= iters / 2)
			kq_result_set_status(
			    c->res, KQ_FAIL,
			    "%lld KVM_EXIT_%s reached userspace for %llu measured %s: "
			    "expected KVM to handle them in the kernel",
			    (long long)n, k->user_exit, (unsigned long long)iters, k->kind);
	}
}

static int setup_hook(struct kq_guest_run *g, void *ctx)
{
	struct kq_exit_ctx *c = ctx;
	return c->k->setup ? c->k->setup(c, g) : 0;
}

static void run_kind(const struct kq_driver *d, const struct kq_test *t,
		     const struct kq_run_opts *o, struct kq_result *res)
{
	const struct kq_exit_kind *k = d->data;
	struct kq_exit_ctx c = {.k = k, .test = t, .t = t, .o = o, .res = res};
	c.labels[0] = (struct kq_kind_label){k->kind, k->handled_in};
	c.go.guest_workload = k->name;
	c.go.labels = c.labels;
	c.go.irqchip = k->irqchip;
	c.go.setup = setup_hook;
	c.go.ctx = &c;
	bool ran = false;
	if (!k->prepare || k->prepare(&c) == 0)
		ran = kq_guest_run(c.test, o, res, &c.go) == 0;
	if (ran)
		check_evidence(&c);
	if (k->finish)
		k->finish(&c, ran);
}

void kq_exit_register(const struct kq_exit_kind *table)
{
	for (const struct kq_exit_kind *k = table; k->name; k++) {
		if (nkinds == KQ_EXIT_MAX_KINDS) {
			fprintf(stderr, "kvmqual: more than %d exit kinds\n", KQ_EXIT_MAX_KINDS);
			abort();
		}
		drivers[nkinds] = (struct kq_driver){
		    .name = k->name,
		    .summary = k->summary,
		    .needs_kvm = true,
		    .params = k->params,
		    .run = run_kind,
		    .data = k,
		};
		kq_driver_register(&drivers[nkinds]);
		nkinds++;
	}
}

static const char *const reg_names[] = {"EAX", "EBX", "ECX", "EDX"};

int kq_exit_need_cpuid(struct kq_exit_ctx *c, struct kq_guest_run *g, uint32_t leaf, int reg,
		       int bit, const char *feature)
{
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(g->kvm.cpuid, leaf, 0);
	uint32_t regs[4] = {0, 0, 0, 0};
	if (e) {
		regs[0] = e->eax;
		regs[1] = e->ebx;
		regs[2] = e->ecx;
		regs[3] = e->edx;
	}
	if (regs[reg] & (1u << bit))
		return 0;
	kq_result_set_status(
	    c->res, KQ_SKIP,
	    "%s: not in the guest's CPUID (KVM_GET_SUPPORTED_CPUID leaf 0x%x %s bit "
	    "%d is clear)",
	    feature, leaf, reg_names[reg], bit);
	return -1;
}

int kq_exit_set_cr4(struct kq_exit_ctx *c, struct kq_guest_run *g, uint64_t bits)
{
	for (int i = 0; i < g->t->vcpus; i++) {
		struct kq_vcpu *v = kq_vm_vcpu(g->vm, i);
		struct kvm_sregs s;
		if (kq_vcpu_get_sregs(v, &s) < 0)
			goto fail;
		s.cr4 |= bits;
		if (kq_vcpu_set_sregs(v, &s) < 0)
			goto fail;
	}
	return 0;
fail:
	kq_result_set_status(c->res, KQ_FAIL, "setting CR4 bits 0x%llx: %s",
			     (unsigned long long)bits, kq_err());
	return -1;
}

/* Older kernels leave the TSC-deadline bit out of KVM_GET_SUPPORTED_CPUID and
 * expect the VMM to add it when KVM_CAP_TSC_DEADLINE_TIMER is present (QEMU
 * does); the LAPIC accepts deadline mode only when the guest's CPUID has it. */
int kq_exit_need_tsc_deadline(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(g->kvm.cpuid, 1, 0);
	if (e && (e->ecx & (1u << 24)))
		return 0;
	int cap = KQ_KVM_CHECK(g->kvm.fd, KVM_CAP_TSC_DEADLINE_TIMER);
	if (cap <= 0) {
		kq_result_set_status(
		    c->res, KQ_SKIP,
		    "TSC-deadline timer: KVM_CAP_TSC_DEADLINE_TIMER absent and CPUID "
		    "leaf 1 ECX bit 24 clear");
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < g->t->vcpus && rc == 0; i++) {
		struct kq_vcpu *v = kq_vm_vcpu(g->vm, i);
		struct kvm_cpuid2 *cp = kq_vcpu_get_cpuid(v);
		if (!cp) {
			rc = -1;
			break;
		}
		struct kvm_cpuid_entry2 *l1 = kq_cpuid_find(cp, 1, 0);
		if (l1)
			l1->ecx |= 1u << 24;
		if (kq_vcpu_set_cpuid(v, cp) < 0)
			rc = -1;
		free(cp);
	}
	if (rc < 0)
		kq_result_set_status(c->res, KQ_FAIL, "adding the TSC-deadline bit to CPUID: %s",
				     kq_err());
	return rc;
}
