/* The table of KVM capabilities the suite uses, and the `requires` checker. */
#include "probes/kvm_caps.h"
#include "probes/fs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

/* Capability numbers are kernel ABI: fixed forever once released. These are
 * the ones newer than the oldest headers we build against. */
#ifndef KVM_CAP_DIRTY_LOG_RING_ACQ_REL
#define KVM_CAP_DIRTY_LOG_RING_ACQ_REL 223
#endif
#ifndef KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP
#define KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP 225
#endif
#ifndef KVM_CAP_PMU_EVENT_MASKED_EVENTS
#define KVM_CAP_PMU_EVENT_MASKED_EVENTS 226
#endif
#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
#endif
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif
#ifndef KVM_CAP_X86_GUEST_MODE
#define KVM_CAP_X86_GUEST_MODE 238
#endif

#define CAP(name, macro, what, flags)                                                              \
	{                                                                                          \
		name, macro, what, #macro, flags                                                   \
	}
#define VM KQ_CAP_VM_SCOPED

static const struct kq_kvm_cap caps[] = {
    /* VM construction */
    CAP("USER_MEMORY", KVM_CAP_USER_MEMORY, "KVM_SET_USER_MEMORY_REGION", 0),
    CAP("USER_MEMORY2", KVM_CAP_USER_MEMORY2, "KVM_SET_USER_MEMORY_REGION2", VM),
    CAP("NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS, "memory slots per address space", VM),
    CAP("READONLY_MEM", KVM_CAP_READONLY_MEM, "read-only memory slots (MMIO on write)", VM),
    CAP("NR_VCPUS", KVM_CAP_NR_VCPUS, "recommended maximum vCPUs", VM),
    CAP("MAX_VCPUS", KVM_CAP_MAX_VCPUS, "maximum vCPUs per VM", VM),
    CAP("MAX_VCPU_ID", KVM_CAP_MAX_VCPU_ID, "maximum vCPU id (APIC id) + 1", VM),
    CAP("SYNC_MMU", KVM_CAP_SYNC_MMU, "memory slots follow host mapping changes", 0),
    CAP("SET_TSS_ADDR", KVM_CAP_SET_TSS_ADDR, "KVM_SET_TSS_ADDR", 0),
    CAP("EXT_CPUID", KVM_CAP_EXT_CPUID, "KVM_GET_SUPPORTED_CPUID", 0),
    CAP("GET_MSR_FEATURES", KVM_CAP_GET_MSR_FEATURES, "KVM_GET_MSR_FEATURE_INDEX_LIST", 0),
    CAP("XSAVE", KVM_CAP_XSAVE, "KVM_GET/SET_XSAVE", 0),
    CAP("XSAVE2", KVM_CAP_XSAVE2, "KVM_GET_XSAVE2, size of the xsave area", VM),
    CAP("XCRS", KVM_CAP_XCRS, "KVM_GET/SET_XCRS", 0),
    CAP("SREGS2", KVM_CAP_SREGS2, "KVM_GET/SET_SREGS2 (PDPTRs)", 0),
    CAP("VCPU_EVENTS", KVM_CAP_VCPU_EVENTS, "KVM_GET/SET_VCPU_EVENTS", 0),
    CAP("DEBUGREGS", KVM_CAP_DEBUGREGS, "KVM_GET/SET_DEBUGREGS", 0),
    CAP("MP_STATE", KVM_CAP_MP_STATE, "KVM_GET/SET_MP_STATE", 0),
    CAP("NESTED_STATE", KVM_CAP_NESTED_STATE, "KVM_GET/SET_NESTED_STATE, buffer size", 0),
    CAP("ENABLE_CAP_VM", KVM_CAP_ENABLE_CAP_VM, "KVM_ENABLE_CAP on a VM fd", 0),
    CAP("CHECK_EXTENSION_VM", KVM_CAP_CHECK_EXTENSION_VM, "KVM_CHECK_EXTENSION on a VM fd", 0),
    CAP("VM_TYPES", KVM_CAP_VM_TYPES, "bit mask of VM types", 0),
    /* vCPU run loop and exits */
    CAP("IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, "kvm_run.immediate_exit", 0),
    CAP("SYNC_REGS", KVM_CAP_SYNC_REGS, "registers synced through kvm_run", 0),
    CAP("COALESCED_MMIO", KVM_CAP_COALESCED_MMIO, "coalesced MMIO ring page offset", 0),
    CAP("COALESCED_PIO", KVM_CAP_COALESCED_PIO, "coalesced PIO", 0),
    CAP("IOEVENTFD", KVM_CAP_IOEVENTFD, "ioeventfd (exit-less PIO/MMIO notify)", 0),
    CAP("IOEVENTFD_ANY_LENGTH", KVM_CAP_IOEVENTFD_ANY_LENGTH, "ioeventfd of any length", 0),
    CAP("IRQFD", KVM_CAP_IRQFD, "irqfd interrupt injection", 0),
    CAP("MSR_FILTER", KVM_CAP_X86_MSR_FILTER, "KVM_X86_SET_MSR_FILTER", 0),
    CAP("USER_SPACE_MSR", KVM_CAP_X86_USER_SPACE_MSR, "MSR accesses exit to user space", 0),
    CAP("DISABLE_EXITS", KVM_CAP_X86_DISABLE_EXITS, "mask of exits that can be disabled", 0),
    CAP("BUS_LOCK_EXIT", KVM_CAP_X86_BUS_LOCK_EXIT, "bus-lock detection exits (modes)", 0),
    CAP("NOTIFY_VMEXIT", KVM_CAP_X86_NOTIFY_VMEXIT, "notify VM exits (VMX)", 0),
    CAP("TRIPLE_FAULT_EVENT", KVM_CAP_X86_TRIPLE_FAULT_EVENT, "triple fault as an event", 0),
    CAP("EXIT_HYPERCALL", KVM_CAP_EXIT_HYPERCALL, "mask of hypercalls exited to user space", 0),
    CAP("EXIT_ON_EMULATION_FAILURE", KVM_CAP_EXIT_ON_EMULATION_FAILURE,
	"instruction bytes on emulation failure", 0),
    CAP("MEMORY_FAULT_INFO", KVM_CAP_MEMORY_FAULT_INFO, "KVM_EXIT_MEMORY_FAULT", 0),
    CAP("HALT_POLL", KVM_CAP_HALT_POLL, "per-VM halt polling", VM),
    CAP("BINARY_STATS_FD", KVM_CAP_BINARY_STATS_FD, "binary statistics fd", 0),
    CAP("SET_GUEST_DEBUG", KVM_CAP_SET_GUEST_DEBUG, "KVM_SET_GUEST_DEBUG", 0),
    /* interrupts and timers */
    CAP("IRQCHIP", KVM_CAP_IRQCHIP, "in-kernel PIC/IOAPIC/LAPIC", 0),
    CAP("SPLIT_IRQCHIP", KVM_CAP_SPLIT_IRQCHIP, "in-kernel LAPIC only", 0),
    CAP("X2APIC_API", KVM_CAP_X2APIC_API, "32-bit APIC ids, x2APIC broadcast quirk", 0),
    CAP("IRQ_ROUTING", KVM_CAP_IRQ_ROUTING, "GSI routing", 0),
    CAP("SIGNAL_MSI", KVM_CAP_SIGNAL_MSI, "KVM_SIGNAL_MSI", 0),
    CAP("TSC_DEADLINE_TIMER", KVM_CAP_TSC_DEADLINE_TIMER, "LAPIC TSC-deadline timer", 0),
    CAP("APIC_BUS_CYCLES_NS", KVM_CAP_X86_APIC_BUS_CYCLES_NS, "APIC bus cycle in ns", VM),
    /* time */
    CAP("GET_TSC_KHZ", KVM_CAP_GET_TSC_KHZ, "KVM_GET_TSC_KHZ (TSC frequency for timing)", 0),
    CAP("TSC_CONTROL", KVM_CAP_TSC_CONTROL, "KVM_SET_TSC_KHZ per vCPU (TSC scaling)", 0),
    CAP("VM_TSC_CONTROL", KVM_CAP_VM_TSC_CONTROL, "KVM_SET_TSC_KHZ on a VM fd", 0),
    CAP("ADJUST_CLOCK", KVM_CAP_ADJUST_CLOCK, "KVM_GET/SET_CLOCK flags", 0),
    CAP("KVMCLOCK_CTRL", KVM_CAP_KVMCLOCK_CTRL, "KVM_KVMCLOCK_CTRL", 0),
    /* dirty tracking and memory */
    CAP("MANUAL_DIRTY_LOG_PROTECT2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
	"KVM_CLEAR_DIRTY_LOG, supported flags", 0),
    CAP("DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING, "dirty ring, maximum size in bytes", VM),
    CAP("DIRTY_LOG_RING_ACQ_REL", KVM_CAP_DIRTY_LOG_RING_ACQ_REL,
	"dirty ring with acquire/release ordering", VM),
    CAP("DIRTY_LOG_RING_WITH_BITMAP", KVM_CAP_DIRTY_LOG_RING_WITH_BITMAP, "dirty ring plus bitmap",
	VM),
    CAP("VM_DISABLE_NX_HUGE_PAGES", KVM_CAP_VM_DISABLE_NX_HUGE_PAGES,
	"per-VM iTLB-multihit mitigation off", 0),
    CAP("GUEST_MEMFD", KVM_CAP_GUEST_MEMFD, "guest_memfd private memory", VM),
    CAP("MEMORY_ATTRIBUTES", KVM_CAP_MEMORY_ATTRIBUTES, "private/shared memory attributes", VM),
    CAP("PRE_FAULT_MEMORY", KVM_CAP_PRE_FAULT_MEMORY, "KVM_PRE_FAULT_MEMORY", VM),
    CAP("SMALLER_MAXPHYADDR", KVM_CAP_SMALLER_MAXPHYADDR, "guest MAXPHYADDR below host", 0),
    CAP("VM_GPA_BITS", KVM_CAP_VM_GPA_BITS, "guest physical address bits", VM),
    /* guest features */
    CAP("X86_SMM", KVM_CAP_X86_SMM, "system management mode", 0),
    CAP("PMU_CAPABILITY", KVM_CAP_PMU_CAPABILITY, "per-VM PMU control", 0),
    CAP("PMU_EVENT_FILTER", KVM_CAP_PMU_EVENT_FILTER, "PMU event filter", 0),
    CAP("MSR_PLATFORM_INFO", KVM_CAP_MSR_PLATFORM_INFO, "MSR_PLATFORM_INFO for the guest", 0),
    CAP("EXCEPTION_PAYLOAD", KVM_CAP_EXCEPTION_PAYLOAD, "exception payloads (#PF, #DB)", 0),
    CAP("DISABLE_QUIRKS2", KVM_CAP_DISABLE_QUIRKS2, "mask of quirks that can be disabled", 0),
    CAP("HYPERV", KVM_CAP_HYPERV, "Hyper-V enlightenments", 0),
    CAP("STEAL_TIME", KVM_CAP_STEAL_TIME, "steal time accounting", 0),
    CAP("ASYNC_PF", KVM_CAP_ASYNC_PF, "asynchronous page faults", 0),
    CAP("SGX_ATTRIBUTE", KVM_CAP_SGX_ATTRIBUTE, "SGX provisioning attribute", 0),
    CAP("GUEST_MODE", KVM_CAP_X86_GUEST_MODE, "kvm_run flag: vCPU in guest mode", 0),
};

#undef CAP
#undef VM

const struct kq_kvm_cap *kq_kvm_caps(size_t *n)
{
	if (n)
		*n = sizeof(caps) / sizeof(caps[0]);
	return caps;
}

const struct kq_kvm_cap *kq_kvm_cap_by_name(const char *name)
{
	if (!name || !*name)
		return NULL;
	const char *bare = name;
	if (strncasecmp(bare, "KVM_CAP_", 8) == 0)
		bare += 8;
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		const char *kern = caps[i].kernel + 8; /* without KVM_CAP_ */
		if (strcasecmp(bare, caps[i].name) == 0 || strcasecmp(bare, kern) == 0)
			return &caps[i];
	}
	return NULL;
}

const struct kq_kvm_cap *kq_kvm_cap_by_number(long cap)
{
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (caps[i].cap == cap)
			return &caps[i];
	return NULL;
}

long kq_kvm_cap_value(int fd, const struct kq_kvm_cap *c)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, c->cap);
	return r < 0 ? -1 : r;
}

int kq_kvm_caps_check(int fd, const char *list, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!list)
		return 1;
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n')
			p++;
		if (!*p)
			break;
		size_t len = strcspn(p, " \t,\n");
		char name[64];
		if (len >= sizeof(name)) {
			char shown[64];
			snprintf(shown, sizeof(shown), "%.*s...", 48, p);
			kq_set_why(why, whylen, "unknown capability %s", shown);
			return 0;
		}
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		const struct kq_kvm_cap *c = kq_kvm_cap_by_name(name);
		if (!c) {
			kq_set_why(why, whylen, "unknown capability %s", name);
			return 0;
		}
		long v = kq_kvm_cap_value(fd, c);
		if (v < 0) {
			int e = errno;
			kq_set_why(why, whylen, "KVM_CHECK_EXTENSION(%s): %s", c->kernel,
				   strerror(e));
			errno = e;
			return -1;
		}
		if (v == 0) {
			kq_set_why(why, whylen, "missing KVM capability %s (%s)", c->name,
				   c->kernel);
			return 0;
		}
	}
	return 1;
}
