/* Host hooks of the IPI kinds in workloads/exit_ipi.guest.c: STI;HLT with a
 * self-IPI pending (the guest's watchdog needs the deadline timer where KVM
 * has it), and an IPI to a halted vCPU, whose evidence is vCPU 1's own KVM
 * counters: it is the one that halts. */
#include "workloads/exit_common.h"
#include "workloads/kvm_stats_json.h"
#include "vmm/err.h"
#include "vmm/kvm_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sti_hlt_xapic_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_want_tsc_deadline(c, g);
}

static int sti_hlt_x2apic_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (kq_exit_need_cpuid(c, g, 1, 2, 21, "x2APIC") < 0)
		return -1;
	return kq_exit_want_tsc_deadline(c, g);
}

const struct kq_exit_hooks kq_exit_hooks_sti_hlt_xapic = {.setup = sti_hlt_xapic_setup};
const struct kq_exit_hooks kq_exit_hooks_sti_hlt_x2apic = {.setup = sti_hlt_x2apic_setup};

/* --- IPI to a halted vCPU ------------------------------------------------- */

struct halted {
	struct kq_kvm_stats st;
	struct kq_kvm_stat *before;
	size_t nbefore;
	bool open;
};

static const struct kq_param_spec ipi_halted_params[] = {
    {"apic", KQ_PT_STRING, "x2apic (default; ICR by WRMSR) or xapic (ICR by MMIO)"},
    {"settle_us", KQ_PT_U64,
     "microseconds vCPU 0 waits after vCPU 1 announced its HLT before the IPI (default 20)"},
    {NULL, 0, NULL},
};

static int ipi_halted_prepare(struct kq_exit_ctx *c)
{
	static struct halted h;
	memset(&h, 0, sizeof(h));
	c->priv = &h;
	const char *apic = kq_test_param(c->t, "apic", "x2apic");
	int64_t settle = kq_test_param_int(c->t, "settle_us", 20);
	if (c->t->vcpus != 2) {
		kq_result_set_status(c->res, KQ_FAIL, "vcpus = %d: an IPI to a halted vCPU needs 2",
				     c->t->vcpus);
		return -1;
	}
	if (strcmp(apic, "x2apic") != 0 && strcmp(apic, "xapic") != 0) {
		kq_result_set_status(c->res, KQ_FAIL, "apic = %s: expected x2apic or xapic", apic);
		return -1;
	}
	if (settle < 0 || settle > 100000) {
		kq_result_set_status(c->res, KQ_FAIL, "settle_us = %lld: expected 0 to 100000",
				     (long long)settle);
		return -1;
	}
	c->go.args[0] = strcmp(apic, "x2apic") == 0;
	c->go.args[1] = (uint64_t)settle;
	return 0;
}

static int ipi_halted_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	struct halted *h = c->priv;
	if (c->go.args[0] && kq_exit_need_cpuid(c, g, 1, 2, 21, "x2APIC") < 0)
		return -1;
	/* The stats fd holds its own reference to the VM: it still reads once
	 * the run is over and the vmm has closed the vCPU. */
	if (kq_kvm_stats_open(&h->st, kq_vcpu_fd(kq_vm_vcpu(g->vm, 1))) == 0) {
		h->open = true;
		h->before = kq_kvm_stats_read(&h->st, &h->nbefore);
	} else {
		kq_result_diag(c->res, "vCPU 1's KVM statistics: %s", kq_err());
	}
	return 0;
}

static double value_of(const struct kq_result *res, const char *name)
{
	json_t *m = kq_result_find_metric(res, name);
	return m ? json_number_value(json_object_get(m, "value")) : 0;
}

static void ipi_halted_finish(struct kq_exit_ctx *c, bool ran)
{
	struct halted *h = c->priv;
	if (!h || !h->open)
		return;
	size_t nafter = 0;
	struct kq_kvm_stat *after = h->before ? kq_kvm_stats_read(&h->st, &nafter) : NULL;
	json_t *d = after ? kq_kvm_stats_delta_json(h->before, h->nbefore, after, nafter) : NULL;
	free(h->before);
	free(after);
	kq_kvm_stats_close(&h->st);
	if (!d) {
		kq_result_diag(c->res, "vCPU 1's KVM statistics could not be read after the run");
		return;
	}
	kq_result_set_evidence(c->res, "kvm_stats_vcpu1", d);
	if (!ran || kq_result_status(c->res) != KQ_PASS)
		return;
	char name[64];
	snprintf(name, sizeof(name), "vcpu0.%s.not_halted", c->k->kind);
	uint64_t samples = kq_exit_measured_iters(c->res, c->k->kind);
	int64_t halts = kq_exit_evidence_count(c->res, "kvm_stats_vcpu1", "halt_exits");
	int64_t emu = kq_exit_evidence_count(c->res, "kvm_stats_vcpu1", "insn_emulation");
	/* Every sampled IPI found vCPU 1 in its HLT: KVM must have taken that
	 * HLT (or emulated it, on hosts that emulate around exits). */
	if ((uint64_t)halts < samples && (uint64_t)emu < samples)
		kq_result_set_status(c->res, KQ_FAIL,
				     "KVM counted %lld halt_exits on vCPU 1 for %llu IPIs sent to "
				     "it halted (%.0f came before its HLT)",
				     (long long)halts, (unsigned long long)samples,
				     value_of(c->res, name));
	int64_t polled = kq_exit_evidence_count(c->res, "kvm_stats_vcpu1", "halt_successful_poll");
	int64_t woken = kq_exit_evidence_count(c->res, "kvm_stats_vcpu1", "halt_wakeup");
	if (polled >= 0 && woken >= 0 && polled + woken > 0) {
		snprintf(name, sizeof(name), "%s.polled_fraction", c->k->kind);
		kq_result_add_value(c->res, name, "fraction",
				    (double)polled / (double)(polled + woken));
	}
}

const struct kq_exit_hooks kq_exit_hooks_ipi_halted = {
    .params = ipi_halted_params,
    .prepare = ipi_halted_prepare,
    .setup = ipi_halted_setup,
    .finish = ipi_halted_finish,
};
