/* Host hooks of the exit kinds that need no interrupts (rows in
 * workloads/exit_table.def, guest side in workloads/exit_kinds.guest.c):
 * RDTSCP's CPUID check, the hypercall's instruction, the in-kernel MSR, MMIO
 * our userspace handles with its bare reference loop, a LAPIC register
 * read, and XSETBV. */
#include "workloads/exit_common.h"
#include "workloads/reference.h"
#include "vmm/err.h"

#include <stdio.h>
#include <string.h>

#define CR4_OSXSAVE (1ULL << 18)

static int need_rdtscp(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_need_cpuid(c, g, 0x80000001, 3, 27, "RDTSCP");
}

/* --- hypercall: the instruction follows the vendor, as the guest's does --- */

static const char *hypercall_insn(struct kq_guest_run *g)
{
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(g->kvm.cpuid, 0, 0);
	char v[13] = "";
	if (e) {
		memcpy(v, &e->ebx, 4);
		memcpy(v + 4, &e->edx, 4);
		memcpy(v + 8, &e->ecx, 4);
	}
	return strcmp(v, "AuthenticAMD") == 0 || strcmp(v, "HygonGenuine") == 0 ? "vmmcall"
										: "vmcall";
}

static const struct kq_param_spec hypercall_params[] = {
    {"instruction", KQ_PT_STRING,
     "auto (default: VMMCALL on AMD and Hygon, VMCALL elsewhere), vmcall or vmmcall"},
    {NULL, 0, NULL},
};

static int hypercall_prepare(struct kq_exit_ctx *c)
{
	const char *insn = kq_test_param(c->t, "instruction", "auto");
	if (strcmp(insn, "auto") == 0) {
		c->go.args[0] = 0;
	} else if (strcmp(insn, "vmcall") == 0 || strcmp(insn, "vmmcall") == 0) {
		c->go.args[0] = strcmp(insn, "vmcall") == 0 ? 1 : 2;
		c->priv = (void *)(strcmp(insn, "vmcall") == 0 ? "vmcall" : "vmmcall");
	} else {
		kq_result_set_status(c->res, KQ_FAIL,
				     "instruction = %s: expected auto, vmcall or vmmcall", insn);
		return -1;
	}
	return 0;
}

static int hypercall_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (!c->priv)
		c->priv = (void *)hypercall_insn(g);
	/* The guest's watchdog around its first hypercall needs the deadline
	 * timer; without it, a host that never completes one meets the time limit. */
	return kq_exit_want_tsc_deadline(c, g);
}

static void label_metrics(struct kq_result *res, const char *kind, const char *key, json_t *value)
{
	const char *suffix[] = {"cycles", "ns"};
	for (int i = 0; i < 2; i++) {
		char name[96];
		snprintf(name, sizeof(name), "%s.%s", kind, suffix[i]);
		json_t *m = kq_result_find_metric(res, name);
		if (m)
			json_object_set(json_object_get(m, "labels"), key, value);
	}
	json_decref(value);
}

static void hypercall_finish(struct kq_exit_ctx *c, bool ran)
{
	if (ran && c->priv)
		label_metrics(c->res, c->k->kind, "instruction", json_string(c->priv));
}

/* --- MSRs handled in the kernel --------------------------------------------
 * IA32_TSC_DEADLINE with the in-kernel LAPIC: both VMX and SVM intercept it
 * unconditionally (neither MSR bitmap may pass it through, since KVM must
 * emulate the timer), and KVM handles it entirely in the kernel. MSRs such
 * as EFER or the syscall MSRs are passed through or kept in the VMCB/VMCS on
 * one vendor or the other, so their cost would differ by design, not by host. */

static int tsc_deadline_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_need_tsc_deadline(c, g);
}

/* --- MMIO in userspace, beside the bare reference loop -------------------- */

static int discard_mmio(void *ctx, struct kq_vcpu *v, uint64_t addr, uint8_t *data, int len,
			bool is_write)
{
	if (!is_write)
		memset(data, 0, (size_t)len);
	return 0;
}

static int mmio_user_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (kq_vm_register_mmio(g->vm, KQ_MMIO_GPA, 0x1000, discard_mmio, NULL) < 0) {
		kq_result_set_status(c->res, KQ_FAIL, "%s", kq_err());
		return -1;
	}
	return 0;
}

static void mmio_user_finish(struct kq_exit_ctx *c, bool ran)
{
	if (ran)
		kq_exit_add_reference(c, KQ_REF_MMIO);
}

static const struct kq_param_spec mmio_user_params[] = {
    {"reference", KQ_PT_BOOL, "also run the bare KVM_RUN reference loop (default yes)"},
    {NULL, 0, NULL},
};

/* --- MMIO in the kernel: a LAPIC register -----------------------------------
 * The default is the timer's current count (0x390): APIC-register
 * virtualization (Intel APICv) and AVIC answer most register reads in
 * hardware, but never this one, so it exits on every host. */

static const struct kq_param_spec mmio_kernel_params[] = {
    {"register", KQ_PT_U64,
     "LAPIC register offset to read (default 0x390, timer current count; 0x30 is the version)"},
    {NULL, 0, NULL},
};

static int mmio_kernel_prepare(struct kq_exit_ctx *c)
{
	int64_t reg = kq_test_param_int(c->t, "register", 0x390);
	if (reg < 0 || reg >= 0x400 || reg % 16) {
		kq_result_set_status(
		    c->res, KQ_FAIL,
		    "register = %lld: expected a LAPIC register offset, a multiple of "
		    "16 below 0x400",
		    (long long)reg);
		return -1;
	}
	c->go.args[0] = (uint64_t)reg;
	return 0;
}

/* --- XSETBV: needs CR4.OSXSAVE, which the vmm leaves clear by default ----- */

static int xsetbv_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (kq_exit_need_cpuid(c, g, 1, 2, 26, "XSAVE") < 0)
		return -1;
	return kq_exit_set_cr4(c, g, CR4_OSXSAVE);
}

const struct kq_exit_hooks kq_exit_hooks_rdtscp = {.setup = need_rdtscp};
const struct kq_exit_hooks kq_exit_hooks_hypercall = {
    .params = hypercall_params,
    .prepare = hypercall_prepare,
    .setup = hypercall_setup,
    .finish = hypercall_finish,
};
const struct kq_exit_hooks kq_exit_hooks_tsc_deadline = {.setup = tsc_deadline_setup};
const struct kq_exit_hooks kq_exit_hooks_mmio_user = {
    .params = mmio_user_params,
    .setup = mmio_user_setup,
    .finish = mmio_user_finish,
};
const struct kq_exit_hooks kq_exit_hooks_mmio_kernel = {
    .params = mmio_kernel_params,
    .prepare = mmio_kernel_prepare,
};
const struct kq_exit_hooks kq_exit_hooks_xsetbv = {.setup = xsetbv_setup};

/* CR4.PGE toggling: the guest sets PGE first, which needs CPUID PGE. */
static int pge_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_need_cpuid(c, g, 1, 3, 13, "PGE");
}

const struct kq_exit_hooks kq_exit_hooks_pge = {.setup = pge_setup};
