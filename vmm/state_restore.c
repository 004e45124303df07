/* Restoring a saved state into a fresh VM of the same configuration. KVM
 * checks each SET against state set before it, so the order is part of the
 * correctness; every step says why it sits where it does (docs/state.md has
 * the same list). The order follows KVM's API documentation, QEMU's
 * kvm_arch_put_registers, Firecracker's restore_state and the kernel
 * selftests' vcpu_load_state where they agree, and says where they differ. */
#include "vmm/state_internal.h"
#include "vmm/state_record_internal.h"
#include "vmm/err.h"

#include <stdlib.h>
#include <string.h>

static const struct kq_state_record *rec(const struct kq_state *s, uint16_t type, uint32_t vcpu)
{
	return kq_state_find(s, type, vcpu);
}

static int set(int fd, unsigned long req, const char *name, const void *data, uint32_t vcpu)
{
	if (ioctl(fd, req, data) < 0) {
		if (vcpu == KQ_STATE_VM)
			return kq_err_errno("restore: ioctl %s", name);
		return kq_err_errno("restore: ioctl %s (vCPU %u)", name, vcpu);
	}
	return 0;
}
#define SET(fd, req, data, vcpu) set(fd, req, #req, data, vcpu)

static int set_cpuid(int fd, const struct kq_state_record *r, uint32_t i)
{
	struct kvm_cpuid2 *c = malloc(sizeof(*c) + r->len);
	if (!c)
		return kq_err_set("out of memory for CPUID");
	c->nent = r->len / sizeof(c->entries[0]);
	c->padding = 0;
	memcpy(c->entries, r->data, r->len);
	int ret = SET(fd, KVM_SET_CPUID2, c, i);
	free(c);
	return ret;
}

static int set_tsc_khz(int fd, const struct kq_state_record *r, uint32_t i,
		       const struct kq_state_caps *c)
{
	uint64_t want;
	memcpy(&want, r->data, 8);
	long have = KQ_IOCTL(fd, KVM_GET_TSC_KHZ, NULL);
	if (have < 0)
		return -1;
	if ((uint64_t)have == want)
		return 0;
	if (!c->tsc_control)
		return kq_err_unavailable("restore: vCPU %u's TSC ran at %llu kHz, this one at %ld "
					  "kHz, and KVM_CAP_TSC_CONTROL is absent",
					  i, (unsigned long long)want, have);
	return SET(fd, KVM_SET_TSC_KHZ, (void *)(uintptr_t)want, i);
}

/* Whether the vCPU already holds `want` in MSR `index` (a fresh vCPU's
 * value read back with KVM_GET_MSRS). */
static bool msr_holds(int fd, uint32_t index, uint64_t want)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h.nmsrs = 1, .e.index = index};
	return ioctl(fd, KVM_GET_MSRS, &m) == 1 && m.e.data == want;
}

/* KVM writes the list in order and stops at the first MSR it refuses. Some
 * MSRs read back a value that KVM will not take from a write in this
 * configuration (MSR_KVM_ASYNC_PF_INT reads 0 but refuses every write
 * without an in-kernel LAPIC): such an MSR is passed over only when the
 * vCPU already holds exactly the saved value, so nothing is lost; any
 * other refusal fails the restore. */
static int set_msrs(int fd, const struct kq_state_record *r, uint32_t i)
{
	uint32_t n = r->len / KQ_STATE_MSR_ENTRY;
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(struct kvm_msr_entry));
	if (!m)
		return kq_err_set("out of memory for %u MSRs", n);
	int ret = 0;
	for (uint32_t from = 0; from < n && ret == 0;) {
		m->nmsrs = n - from;
		for (uint32_t k = 0; k < m->nmsrs; k++) {
			const uint8_t *e = r->data + (size_t)(from + k) * KQ_STATE_MSR_ENTRY;
			memcpy(&m->entries[k].index, e, 4);
			memcpy(&m->entries[k].data, e + 4, 8);
		}
		int got = (int)ioctl(fd, KVM_SET_MSRS, m);
		if (got < 0)
			return free(m), kq_err_errno("restore: ioctl KVM_SET_MSRS (vCPU %u)", i);
		from += (uint32_t)got;
		if (from == n)
			break;
		const struct kvm_msr_entry *bad = &m->entries[got];
		if (!msr_holds(fd, bad->index, bad->data))
			ret =
			    kq_err_set("restore: KVM_SET_MSRS (vCPU %u) refused MSR 0x%x = 0x%llx",
				       i, bad->index, (unsigned long long)bad->data);
		from++;
	}
	free(m);
	return ret;
}

static int set_fpu(int fd, const struct kq_state_record *r, uint32_t i,
		   const struct kq_state_caps *c)
{
	if (r->type == KQ_REC_FPU)
		return SET(fd, KVM_SET_FPU, r->data, i);
	/* KVM_SET_XSAVE reads as many bytes as this host's XSAVE2 size, which
	 * may exceed what the source saved: pad with zeroes (absent components
	 * are in their initial state, as XSTATE_BV says). */
	size_t size = r->len;
	if (c->xsave2_size > 0 && (size_t)c->xsave2_size > size)
		size = (size_t)c->xsave2_size;
	uint8_t *x = calloc(1, size);
	if (!x)
		return kq_err_set("out of memory for XSAVE state");
	memcpy(x, r->data, r->len);
	int ret = SET(fd, KVM_SET_XSAVE, x, i);
	free(x);
	return ret;
}

/* One vCPU, in this order:
 *  1. CPUID: KVM derives from it which CR4 bits, EFER bits, MSRs and XSAVE
 *     components the vCPU may have; every later SET is checked against it.
 *  2. TSC frequency: MSR_IA32_TSC (step 5) is scaled by it.
 *  3. sregs/sregs2: CR0/CR4/EFER, which MSRs and nested state depend on,
 *     and the APIC base (MSR_IA32_APICBASE, with the x2APIC mode) that
 *     KVM_SET_LAPIC interprets the APIC ID by.
 *  4. LAPIC: after the APIC base; before the MSRs because the TSC-deadline
 *     MSR is kept only when the LAPIC timer is in TSC-deadline mode.
 *  5. MSRs: after CPUID, sregs and LAPIC (above). MSR_IA32_TSC sets the TSC
 *     here; the offset set last (kq_state_restore) supersedes it.
 *  6. XCRs, then XSAVE/FPU: both checked against CPUID's XSAVE features.
 *  7. Nested state: needs EFER.SVME/CR4.VMXE (sregs) and the VMX feature
 *     MSRs (IA32_FEATURE_CONTROL); set late as the selftests do (QEMU sets
 *     it right after sregs, having set feature control first).
 *  8. regs: KVM_SET_REGS drops a pending exception, so it goes before the
 *     events that carry one (Firecracker's order).
 *  9. debug registers.
 * 10. vCPU events (pending exception, interrupt, NMI, SMM, interrupt
 *     shadow): after regs (8), and after sregs whose interrupt bitmap
 *     queues an interrupt the events then describe exactly.
 * 11. MP state: after events, since KVM refuses INIT/SIPI-received while
 *     the vCPU is in SMM (restored by the events), and after the LAPIC. */
static int restore_vcpu(struct kq_vcpu *v, const struct kq_state *s, const struct kq_state_caps *c)
{
	int fd = kq_vcpu_fd(v);
	uint32_t i = (uint32_t)kq_vcpu_index(v);
	const struct kq_state_record *r;
	if (set_cpuid(fd, rec(s, KQ_REC_CPUID, i), i) < 0 ||
	    set_tsc_khz(fd, rec(s, KQ_REC_TSC_KHZ, i), i, c) < 0)
		return -1;
	if ((r = rec(s, KQ_REC_SREGS2, i))) {
		if (!c->sregs2)
			return kq_err_unavailable("restore: the state has sregs2 (KVM_GET_SREGS2) "
						  "and this KVM lacks KVM_CAP_SREGS2");
		if (SET(fd, KVM_SET_SREGS2, r->data, i) < 0)
			return -1;
	} else if (SET(fd, KVM_SET_SREGS, rec(s, KQ_REC_SREGS, i)->data, i) < 0) {
		return -1;
	}
	if ((r = rec(s, KQ_REC_LAPIC, i)) && SET(fd, KVM_SET_LAPIC, r->data, i) < 0)
		return -1;
	if (set_msrs(fd, rec(s, KQ_REC_MSRS, i), i) < 0)
		return -1;
	if ((r = rec(s, KQ_REC_XCRS, i)) && SET(fd, KVM_SET_XCRS, r->data, i) < 0)
		return -1;
	r = rec(s, KQ_REC_XSAVE, i);
	if (set_fpu(fd, r ? r : rec(s, KQ_REC_FPU, i), i, c) < 0)
		return -1;
	if ((r = rec(s, KQ_REC_NESTED, i))) {
		if (c->nested_max <= 0)
			return kq_err_unavailable("restore: the state has nested state and this "
						  "KVM lacks KVM_CAP_NESTED_STATE");
		if (SET(fd, KVM_SET_NESTED_STATE, r->data, i) < 0)
			return -1;
	}
	if (SET(fd, KVM_SET_REGS, rec(s, KQ_REC_REGS, i)->data, i) < 0 ||
	    SET(fd, KVM_SET_DEBUGREGS, rec(s, KQ_REC_DEBUGREGS, i)->data, i) < 0 ||
	    SET(fd, KVM_SET_VCPU_EVENTS, rec(s, KQ_REC_EVENTS, i)->data, i) < 0 ||
	    SET(fd, KVM_SET_MP_STATE, rec(s, KQ_REC_MP_STATE, i)->data, i) < 0)
		return -1;
	return 0;
}

/* PIC and IOAPIC after every LAPIC: KVM_SET_IRQCHIP re-delivers the lines
 * the chips hold pending into the LAPICs, which a later KVM_SET_LAPIC would
 * overwrite. The PIT after them: it restarts its timer and raises IRQ 0
 * through them. */
static int restore_irqchip(int fd, const struct kq_state *s)
{
	static const struct {
		uint32_t chip;
		uint16_t type;
	} chips[] = {{KVM_IRQCHIP_PIC_MASTER, KQ_REC_PIC_MASTER},
		     {KVM_IRQCHIP_PIC_SLAVE, KQ_REC_PIC_SLAVE},
		     {KVM_IRQCHIP_IOAPIC, KQ_REC_IOAPIC}};
	for (int k = 0; k < 3; k++) {
		const struct kq_state_record *r = rec(s, chips[k].type, KQ_STATE_VM);
		struct kvm_irqchip ic = {.chip_id = chips[k].chip};
		memcpy(&ic.chip, r->data, r->len);
		if (SET(fd, KVM_SET_IRQCHIP, &ic, KQ_STATE_VM) < 0)
			return -1;
	}
	const struct kq_state_record *pit = rec(s, KQ_REC_PIT2, KQ_STATE_VM);
	return pit ? SET(fd, KVM_SET_PIT2, pit->data, KQ_STATE_VM) : 0;
}

/* The clock, then the TSC offsets, as Documentation/virt/kvm/devices/vcpu.rst
 * describes: KVM_SET_CLOCK with the saved KVM_CLOCK_REALTIME advances the
 * kvmclock by the wall time since the save; reading the clock back gives
 * (kvmclock, host TSC) here, and each offset is moved so that "guest TSC at
 * kvmclock 0" is what it was at the source:
 *   ofs_dst = ofs_src - (guest_src - guest_dst) * khz / 10^6 + (tsc_src - tsc_dst).
 * Without the host TSC on either side (host clocksource not the TSC) the
 * saved offset is written unchanged: right on one host, where the TSC is
 * shared. Last of all, so no MSR_IA32_TSC write can disturb the offsets. */
static int restore_time(struct kq_vm *vm, const struct kq_state *s)
{
	int fd = kq_vm_fd(vm);
	struct kvm_clock_data src, dst = {0};
	memcpy(&src, rec(s, KQ_REC_CLOCK, KQ_STATE_VM)->data, sizeof(src));
	if (SET(fd, KVM_SET_CLOCK, &src, KQ_STATE_VM) < 0 ||
	    SET(fd, KVM_GET_CLOCK, &dst, KQ_STATE_VM) < 0)
		return -1;
	bool host_tsc = (src.flags & KVM_CLOCK_HOST_TSC) && (dst.flags & KVM_CLOCK_HOST_TSC);
	for (uint32_t i = 0; i < s->nvcpus; i++) {
		const struct kq_state_record *r = rec(s, KQ_REC_TSC_OFFSET, i);
		if (!r)
			continue; /* no offset attribute at the source: MSR_IA32_TSC did it */
		int vfd = kq_vcpu_fd(kq_vm_vcpu(vm, (int)i));
		if (!kq_state_has_tsc_offset(vfd))
			return kq_err_unavailable("restore: the state has a TSC offset and this "
						  "KVM lacks the KVM_VCPU_TSC_OFFSET attribute");
		uint64_t ofs, khz;
		memcpy(&ofs, r->data, 8);
		memcpy(&khz, rec(s, KQ_REC_TSC_KHZ, i)->data, 8);
		if (host_tsc) {
			__int128 d_ns = (__int128)src.clock - (__int128)dst.clock;
			__int128 d = -(d_ns * (__int128)khz) / 1000000 +
				     ((__int128)src.host_tsc - (__int128)dst.host_tsc);
			ofs = (uint64_t)((__int128)ofs + d);
		}
		struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL,
					    .attr = KVM_VCPU_TSC_OFFSET,
					    .addr = (uintptr_t)&ofs};
		if (SET(vfd, KVM_SET_DEVICE_ATTR, &a, i) < 0)
			return -1;
	}
	return 0;
}

int kq_state_restore(struct kq_vm *vm, const struct kq_state *s)
{
	struct kq_state_caps c;
	uint32_t mode;
	char msg[160];
	if (kq_rec_missing(s, msg, sizeof(msg)))
		return kq_err_set("restore: %s", msg);
	if (s->nvcpus != (uint32_t)kq_vm_nvcpus(vm))
		return kq_err_set("restore: the state has %u vCPUs, the VM %d", s->nvcpus,
				  kq_vm_nvcpus(vm));
	memcpy(&mode, rec(s, KQ_REC_VM, KQ_STATE_VM)->data, 4);
	if (mode != (uint32_t)kq_vm_irqchip(vm))
		return kq_err_set("restore: the state's irqchip mode is %u, the VM's %d", mode,
				  (int)kq_vm_irqchip(vm));
	if (kq_state_caps_get(vm, &c) < 0)
		return -1;
	/* vCPUs first (each in the order above), then the VM-wide devices that
	 * deliver into their LAPICs, then time. */
	for (uint32_t i = 0; i < s->nvcpus; i++)
		if (restore_vcpu(kq_vm_vcpu(vm, (int)i), s, &c) < 0)
			return -1;
	if (mode == KQ_IRQCHIP_KERNEL && restore_irqchip(kq_vm_fd(vm), s) < 0)
		return -1;
	return restore_time(vm, s);
}
