/* Host side of the exit kinds that need no interrupts (guest side:
 * workloads/exit_kinds.guest.c): the measurement floor, instructions KVM
 * handles in the kernel, and MMIO our userspace handles, with its bare
 * reference loop. */
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
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(g->kvm.cpuid, 1, 0);
	if (e && (e->ecx & (1u << 24)))
		return 0;
	return KQ_KVM_CHECK(g->kvm.fd, KVM_CAP_TSC_DEADLINE_TIMER) > 0
		   ? kq_exit_need_tsc_deadline(c, g)
		   : 0;
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
		label_metrics(c->res, "hypercall", "instruction", json_string(c->priv));
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
	if (ran && kq_result_status(c->res) == KQ_PASS &&
	    kq_test_param_bool(c->t, "reference", true))
		kq_add_reference(c->t, c->o, c->res, KQ_REF_MMIO, "mmio-user.cycles",
				 "reference.mmio-user");
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

static const struct kq_exit_kind kinds[] = {
    {.name = "exit.empty",
     .kind = "empty",
     .handled_in = "none",
     .summary = "empty loop: the floor of the measurement, no exit"},
    {.name = "exit.rdtsc",
     .kind = "rdtsc",
     .handled_in = "none",
     .summary = "RDTSC: runs in the guest without an exit (TSC offsetting)"},
    {.name = "exit.rdtscp",
     .kind = "rdtscp",
     .handled_in = "none",
     .summary = "RDTSCP: runs in the guest without an exit (SKIP without CPUID RDTSCP)",
     .setup = need_rdtscp},
    {.name = "exit.hypercall",
     .kind = "hypercall",
     .handled_in = "kernel",
     .summary = "VMCALL/VMMCALL (by vendor) with an unknown number: KVM answers -KVM_ENOSYS",
     .irqchip = KQ_IRQCHIP_KERNEL, /* for the guest's watchdog timer */
     .params = hypercall_params,
     .prepare = hypercall_prepare,
     .setup = hypercall_setup,
     .finish = hypercall_finish,
     .stat = "hypercalls"},
    {.name = "exit.msr-read-kernel",
     .kind = "msr-read-kernel",
     .handled_in = "kernel",
     .summary = "RDMSR IA32_TSC_DEADLINE, handled by the in-kernel LAPIC",
     .irqchip = KQ_IRQCHIP_KERNEL,
     .setup = tsc_deadline_setup},
    {.name = "exit.msr-write-kernel",
     .kind = "msr-write-kernel",
     .handled_in = "kernel",
     .summary = "WRMSR IA32_TSC_DEADLINE (disarm), handled by the in-kernel LAPIC",
     .irqchip = KQ_IRQCHIP_KERNEL,
     .setup = tsc_deadline_setup},
    {.name = "exit.pio-kernel",
     .kind = "pio-kernel",
     .handled_in = "kernel",
     .summary = "IN from the PIC's ELCR port 0x4d0, handled by the in-kernel irqchip",
     .irqchip = KQ_IRQCHIP_KERNEL,
     .stat = "io_exits",
     .user_exit = "IO",
     .user_expect = KQ_UEXIT_FEW},
    {.name = "exit.mmio-user",
     .kind = "mmio-user",
     .handled_in = "userspace",
     .summary = "write to unbacked guest memory handled by our userspace, with the bare "
		"reference loop",
     .params = mmio_user_params,
     .setup = mmio_user_setup,
     .finish = mmio_user_finish,
     .user_exit = "MMIO",
     .user_expect = KQ_UEXIT_EACH},
    {.name = "exit.mmio-kernel",
     .kind = "mmio-kernel",
     .handled_in = "kernel",
     .summary = "read of an in-kernel LAPIC register (xAPIC MMIO)",
     .irqchip = KQ_IRQCHIP_KERNEL,
     .params = mmio_kernel_params,
     .prepare = mmio_kernel_prepare,
     .user_exit = "MMIO",
     .user_expect = KQ_UEXIT_FEW},
    {.name = "exit.cr8-write",
     .kind = "cr8-write",
     .handled_in = "kernel",
     .summary = "MOV to CR8 (TPR) with the in-kernel LAPIC; TPR shadowing may avoid the exit",
     .irqchip = KQ_IRQCHIP_KERNEL},
    {.name = "exit.xsetbv",
     .kind = "xsetbv",
     .handled_in = "kernel",
     .summary = "XSETBV of the current XCR0 (SKIP without CPUID XSAVE)",
     .setup = xsetbv_setup},
    {.name = "exit.invlpg",
     .kind = "invlpg",
     .handled_in = "kernel",
     .summary = "INVLPG: exits with shadow paging, not with EPT/NPT"},
    {.name = "exit.dr7-write",
     .kind = "dr7-write",
     .handled_in = "kernel",
     .summary = "MOV to DR7; KVM stops intercepting after the first until the next exit"},
    {.name = "exit.dr0-read",
     .kind = "dr0-read",
     .handled_in = "kernel",
     .summary = "MOV from DR0; KVM stops intercepting after the first until the next exit"},
    {.name = "exit.wbinvd",
     .kind = "wbinvd",
     .handled_in = "kernel",
     .summary = "WBINVD (may flush host caches where KVM must honour it)"},
    {.name = "exit.invd",
     .kind = "invd",
     .handled_in = "kernel",
     .summary = "INVD, which KVM intercepts and skips"},
    {0},
};

__attribute__((constructor)) static void register_kinds(void)
{
	kq_exit_register(kinds);
}
