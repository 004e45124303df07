/* Saving a VM's state: every vCPU's and the in-kernel devices' state, read
 * with KVM's GET ioctls into records (vmm/state_record.h). The order of the
 * reads matters where a GET changes state; it is written down below. */
#include "vmm/state_internal.h"
#include "vmm/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int kq_state_caps_get(struct kq_vm *vm, struct kq_state_caps *c)
{
	int fd = kq_vm_fd(vm);
	int sregs2 = KQ_KVM_CHECK(fd, KVM_CAP_SREGS2), xsave2 = KQ_KVM_CHECK(fd, KVM_CAP_XSAVE2),
	    xsave = KQ_KVM_CHECK(fd, KVM_CAP_XSAVE), xcrs = KQ_KVM_CHECK(fd, KVM_CAP_XCRS),
	    nested = KQ_KVM_CHECK(fd, KVM_CAP_NESTED_STATE),
	    tscc = KQ_KVM_CHECK(fd, KVM_CAP_TSC_CONTROL);
	if (sregs2 < 0 || xsave2 < 0 || xsave < 0 || xcrs < 0 || nested < 0 || tscc < 0)
		return -1;
	*c = (struct kq_state_caps){
	    .sregs2 = sregs2 > 0,
	    .xsave2_size = xsave2,
	    .xsave = xsave > 0,
	    .xcrs = xcrs > 0,
	    .nested_max = nested,
	    .tsc_control = tscc > 0,
	};
	return 0;
}

bool kq_state_has_tsc_offset(int vcpu_fd)
{
	struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET};
	return ioctl(vcpu_fd, KVM_HAS_DEVICE_ATTR, &a) == 0;
}

/* KVM makes a vCPU's state consistent after a userspace exit only when it
 * re-enters (an OUT's RIP, an IN's RAX, MMIO data are completed then): enter
 * with immediate_exit, which completes the exit and returns EINTR at once. */
static int complete_exit(struct kq_vm *vm, struct kq_vcpu *v)
{
	size_t size = (size_t)kq_vm_kvm(vm)->run_size;
	int fd = kq_vcpu_fd(v);
	struct kvm_run *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED)
		return kq_err_errno("mmap kvm_run of vCPU %d", kq_vcpu_index(v));
	run->immediate_exit = 1;
	int r = ioctl(fd, KVM_RUN, NULL);
	int e = errno;
	run->immediate_exit = 0;
	munmap(run, size);
	if (r == 0 || e != EINTR) {
		errno = r == 0 ? EPROTO : e;
		return kq_err_errno("ioctl KVM_RUN with immediate_exit (completing vCPU %d's exit "
				    "before saving)",
				    kq_vcpu_index(v));
	}
	return 0;
}

/* Reads a fixed-size structure with a GET ioctl and adds it as a record. */
static int get_rec(struct kq_state *s, int fd, unsigned long req, const char *name, uint16_t type,
		   uint32_t vcpu, void *buf, uint32_t len)
{
	memset(buf, 0, len);
	if (ioctl(fd, req, buf) < 0) {
		if (vcpu == KQ_STATE_VM)
			return kq_err_errno("ioctl %s", name);
		return kq_err_errno("ioctl %s (vCPU %u)", name, vcpu);
	}
	return kq_state_add(s, type, vcpu, buf, len);
}
#define GET_REC(s, fd, req, type, vcpu, buf)                                                       \
	get_rec(s, fd, req, #req, type, vcpu, buf, sizeof(*(buf)))

struct msr_list {
	uint32_t n;
	uint32_t *index;
};

static int msr_index_list(struct kq_vm *vm, struct msr_list *l)
{
	int fd = kq_vm_kvm(vm)->fd;
	struct kvm_msr_list probe = {.nmsrs = 0};
	/* The first call answers E2BIG with the count filled in. */
	if (ioctl(fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return kq_err_errno("ioctl KVM_GET_MSR_INDEX_LIST (count)");
	struct kvm_msr_list *ml = calloc(1, sizeof(*ml) + probe.nmsrs * sizeof(uint32_t));
	if (!ml)
		return kq_err_set("out of memory for %u MSR indices", probe.nmsrs);
	ml->nmsrs = probe.nmsrs;
	if (KQ_IOCTL(fd, KVM_GET_MSR_INDEX_LIST, ml) < 0) {
		free(ml);
		return -1;
	}
	l->n = ml->nmsrs;
	l->index = malloc((l->n ? l->n : 1) * sizeof(uint32_t));
	if (l->index)
		memcpy(l->index, ml->indices, l->n * sizeof(uint32_t));
	free(ml);
	return l->index ? 0 : kq_err_set("out of memory for %u MSR indices", l->n);
}

/* Reads every listed MSR with KVM_GET_MSRS. KVM stops at the first MSR it
 * cannot read and returns how many it read: that one is dropped (and
 * recorded as dropped) and the read goes on after it, so all readable MSRs
 * cost one ioctl plus one per unreadable MSR. The TSC travels here too
 * (MSR_IA32_TSC): restore writes it, and it is the TSC's fallback where the
 * KVM_VCPU_TSC_OFFSET attribute is missing. */
static int save_msrs(struct kq_state *s, int fd, uint32_t vcpu, const struct msr_list *l)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + l->n * sizeof(struct kvm_msr_entry));
	uint8_t *good = malloc((size_t)l->n * KQ_STATE_MSR_ENTRY + 1);
	uint32_t *dropped = malloc((size_t)l->n * 4 + 4);
	uint32_t ngood = 0, ndropped = 0;
	int r = -1;
	if (!m || !good || !dropped) {
		kq_err_set("out of memory for %u MSRs", l->n);
		goto out;
	}
	for (uint32_t i = 0; i < l->n;) {
		m->nmsrs = l->n - i;
		for (uint32_t k = 0; k < m->nmsrs; k++)
			m->entries[k] = (struct kvm_msr_entry){.index = l->index[i + k]};
		int got = (int)ioctl(fd, KVM_GET_MSRS, m);
		if (got < 0) {
			kq_err_errno("ioctl KVM_GET_MSRS (vCPU %u, %u MSRs from 0x%x)", vcpu,
				     m->nmsrs, l->index[i]);
			goto out;
		}
		for (int k = 0; k < got; k++, ngood++) {
			uint8_t *e = good + (size_t)ngood * KQ_STATE_MSR_ENTRY;
			memcpy(e, &m->entries[k].index, 4);
			memcpy(e + 4, &m->entries[k].data, 8);
		}
		i += (uint32_t)got;
		if (i < l->n)
			dropped[ndropped++] = l->index[i++];
	}
	r = kq_state_add(s, KQ_REC_MSRS, vcpu, good, ngood * KQ_STATE_MSR_ENTRY);
	if (r == 0 && ndropped)
		r = kq_state_add(s, KQ_REC_MSRS_DROPPED, vcpu, dropped, ndropped * 4);
out:
	free(m);
	free(good);
	free(dropped);
	return r;
}

static int save_cpuid(struct kq_state *s, int fd, uint32_t vcpu)
{
	struct kvm_cpuid2 *c = kq_cpuid_get_vcpu(fd);
	if (!c)
		return -1;
	int r = kq_state_add(s, KQ_REC_CPUID, vcpu, c->entries, c->nent * sizeof(c->entries[0]));
	free(c);
	return r;
}

static int save_fpu(struct kq_state *s, int fd, uint32_t vcpu, const struct kq_state_caps *c)
{
	if (c->xsave2_size > 0 || c->xsave) {
		/* KVM_GET_XSAVE2 fills KVM_CAP_XSAVE2's size (AMX state goes past 4096). */
		uint32_t size = c->xsave2_size > (int)sizeof(struct kvm_xsave)
				    ? (uint32_t)c->xsave2_size
				    : (uint32_t)sizeof(struct kvm_xsave);
		void *x = calloc(1, size);
		if (!x)
			return kq_err_set("out of memory for %u bytes of XSAVE state", size);
		int r = c->xsave2_size > 0 ? (int)KQ_IOCTL(fd, KVM_GET_XSAVE2, x)
					   : (int)KQ_IOCTL(fd, KVM_GET_XSAVE, x);
		if (r == 0)
			r = kq_state_add(s, KQ_REC_XSAVE, vcpu, x, size);
		free(x);
		return r;
	}
	struct kvm_fpu f;
	return GET_REC(s, fd, KVM_GET_FPU, KQ_REC_FPU, vcpu, &f);
}

static int save_nested(struct kq_state *s, int fd, uint32_t vcpu, int max)
{
	struct kvm_nested_state *n = calloc(1, (size_t)max);
	if (!n)
		return kq_err_set("out of memory for %d bytes of nested state", max);
	n->size = (uint32_t)max;
	int r = (int)KQ_IOCTL(fd, KVM_GET_NESTED_STATE, n);
	if (r == 0 && (n->size < sizeof(*n) || n->size > (uint32_t)max))
		r = kq_err_set("KVM_GET_NESTED_STATE (vCPU %u): size %u outside %zu..%d", vcpu,
			       n->size, sizeof(*n), max);
	if (r == 0)
		r = kq_state_add(s, KQ_REC_NESTED, vcpu, n, n->size);
	free(n);
	return r;
}

/* One vCPU. Order: MP state first, since KVM_GET_MP_STATE delivers pending
 * INIT/SIPI into the vCPU and LAPIC state (kvm_apic_accept_events), which
 * the later reads must then see; vCPU events last, since they summarise
 * what the other GETs may still settle (the Firecracker and QEMU order). */
static int save_vcpu(struct kq_vm *vm, struct kq_state *s, struct kq_vcpu *v,
		     const struct kq_state_caps *c, const struct msr_list *msrs)
{
	int fd = kq_vcpu_fd(v);
	uint32_t i = (uint32_t)kq_vcpu_index(v);
	union {
		struct kvm_mp_state mp;
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_sregs2 sregs2;
		struct kvm_xcrs xcrs;
		struct kvm_debugregs dr;
		struct kvm_lapic_state lapic;
		struct kvm_vcpu_events ev;
	} u;
	if (GET_REC(s, fd, KVM_GET_MP_STATE, KQ_REC_MP_STATE, i, &u.mp) < 0 ||
	    GET_REC(s, fd, KVM_GET_REGS, KQ_REC_REGS, i, &u.regs) < 0)
		return -1;
	if (c->sregs2 ? GET_REC(s, fd, KVM_GET_SREGS2, KQ_REC_SREGS2, i, &u.sregs2) < 0
		      : GET_REC(s, fd, KVM_GET_SREGS, KQ_REC_SREGS, i, &u.sregs) < 0)
		return -1;
	if (save_fpu(s, fd, i, c) < 0)
		return -1;
	if (c->xcrs && GET_REC(s, fd, KVM_GET_XCRS, KQ_REC_XCRS, i, &u.xcrs) < 0)
		return -1;
	if (GET_REC(s, fd, KVM_GET_DEBUGREGS, KQ_REC_DEBUGREGS, i, &u.dr) < 0)
		return -1;
	if (kq_vm_irqchip(vm) != KQ_IRQCHIP_NONE &&
	    GET_REC(s, fd, KVM_GET_LAPIC, KQ_REC_LAPIC, i, &u.lapic) < 0)
		return -1;
	long khz = KQ_IOCTL(fd, KVM_GET_TSC_KHZ, NULL);
	if (khz <= 0)
		return khz < 0 ? -1 : kq_err_set("KVM_GET_TSC_KHZ (vCPU %u) returned 0", i);
	uint64_t k64 = (uint64_t)khz, ofs = 0;
	if (kq_state_add(s, KQ_REC_TSC_KHZ, i, &k64, 8) < 0)
		return -1;
	if (kq_state_has_tsc_offset(fd)) {
		struct kvm_device_attr a = {.group = KVM_VCPU_TSC_CTRL,
					    .attr = KVM_VCPU_TSC_OFFSET,
					    .addr = (uintptr_t)&ofs};
		if (KQ_IOCTL(fd, KVM_GET_DEVICE_ATTR, &a) < 0 ||
		    kq_state_add(s, KQ_REC_TSC_OFFSET, i, &ofs, 8) < 0)
			return -1;
	}
	if (save_cpuid(s, fd, i) < 0)
		return -1;
	if (c->nested_max > 0 && save_nested(s, fd, i, c->nested_max) < 0)
		return -1;
	if (save_msrs(s, fd, i, msrs) < 0)
		return -1;
	return GET_REC(s, fd, KVM_GET_VCPU_EVENTS, KQ_REC_EVENTS, i, &u.ev);
}

static int save_irqchip(struct kq_state *s, int fd)
{
	static const struct {
		uint32_t chip;
		uint16_t type;
		uint32_t len;
	} chips[] = {
	    {KVM_IRQCHIP_PIC_MASTER, KQ_REC_PIC_MASTER, sizeof(struct kvm_pic_state)},
	    {KVM_IRQCHIP_PIC_SLAVE, KQ_REC_PIC_SLAVE, sizeof(struct kvm_pic_state)},
	    {KVM_IRQCHIP_IOAPIC, KQ_REC_IOAPIC, sizeof(struct kvm_ioapic_state)},
	};
	for (int k = 0; k < 3; k++) {
		struct kvm_irqchip ic = {.chip_id = chips[k].chip};
		if (KQ_IOCTL(fd, KVM_GET_IRQCHIP, &ic) < 0 ||
		    kq_state_add(s, chips[k].type, KQ_STATE_VM, &ic.chip, chips[k].len) < 0)
			return -1;
	}
	/* A PIT exists only where the VMM created one (KVM_CREATE_PIT2). */
	struct kvm_pit_state2 pit;
	if (ioctl(fd, KVM_GET_PIT2, &pit) < 0) {
		if (errno == ENXIO)
			return 0;
		return kq_err_errno("ioctl KVM_GET_PIT2");
	}
	return kq_state_add(s, KQ_REC_PIT2, KQ_STATE_VM, &pit, sizeof(pit));
}

int kq_state_save(struct kq_vm *vm, struct kq_state **out)
{
	struct kq_state_caps c;
	struct msr_list msrs = {0};
	int n = kq_vm_nvcpus(vm), vmfd = kq_vm_fd(vm);
	*out = NULL;
	if (kq_state_caps_get(vm, &c) < 0 || msr_index_list(vm, &msrs) < 0)
		return -1;
	struct kq_state *s = kq_state_new((uint32_t)n);
	if (!s)
		goto fail;
	for (int i = 0; i < n; i++)
		if (complete_exit(vm, kq_vm_vcpu(vm, i)) < 0)
			goto fail;
	uint32_t mode = (uint32_t)kq_vm_irqchip(vm);
	struct kvm_clock_data clock;
	if (kq_state_add(s, KQ_REC_VM, KQ_STATE_VM, &mode, 4) < 0 ||
	    GET_REC(s, vmfd, KVM_GET_CLOCK, KQ_REC_CLOCK, KQ_STATE_VM, &clock) < 0)
		goto fail;
	if (mode == KQ_IRQCHIP_KERNEL && save_irqchip(s, vmfd) < 0)
		goto fail;
	for (int i = 0; i < n; i++)
		if (save_vcpu(vm, s, kq_vm_vcpu(vm, i), &c, &msrs) < 0)
			goto fail;
	free(msrs.index);
	*out = s;
	return 0;
fail:
	free(msrs.index);
	kq_state_free(s);
	return -1;
}

bool kq_host_tsc_unstable(void)
{
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/available_clocksource", "r");
	if (!f)
		return false;
	char buf[512], *save = NULL;
	bool tsc = false, read = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	for (char *t = read ? strtok_r(buf, " \t\n", &save) : NULL; t;
	     t = strtok_r(NULL, " \t\n", &save))
		tsc |= strcmp(t, "tsc") == 0;
	return read && !tsc;
}
