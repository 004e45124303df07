/* vCPUs: long-mode register state, CPUID, the parameter page, and the
 * accessors and ioctl wrappers callers use (struct kq_vcpu is opaque). */
#include "vmm/vm_internal.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CR0_PE	       (1ULL << 0)
#define CR0_MP	       (1ULL << 1)
#define CR0_ET	       (1ULL << 4)
#define CR0_NE	       (1ULL << 5)
#define CR0_WP	       (1ULL << 16)
#define CR0_PG	       (1ULL << 31)
#define CR4_PAE	       (1ULL << 5)
#define CR4_OSFXSR     (1ULL << 9)
#define CR4_OSXMMEXCPT (1ULL << 10)
#define CR4_OSXSAVE    (1ULL << 18)
#define EFER_LME       (1ULL << 8)
#define EFER_LMA       (1ULL << 10)
#define EFER_NXE       (1ULL << 11)

static int set_cpuid(struct kq_vm *vm, struct kq_vcpu *v)
{
	struct kvm_cpuid2 *src = vm->kvm->cpuid;
	size_t sz = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	if (!c)
		return kq_err_set("out of memory for CPUID");
	memcpy(c, src, sz);
	/* The initial APIC ID the in-kernel LAPIC uses is the vCPU id; CPUID must agree. */
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(c, 1, 0);
	if (e)
		e->ebx = (e->ebx & 0x00ffffff) | ((uint32_t)v->index << 24);
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0xb || c->entries[i].function == 0x1f)
			c->entries[i].edx = (uint32_t)v->index;
	int r = (int)KQ_IOCTL(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return r < 0 ? -1 : 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code, uint64_t base)
{
	*s = (struct kvm_segment){
	    .base = base,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = code ? 0 : 1,
	    .s = 1,
	    .l = code ? 1 : 0,
	    .g = 1,
	};
}

static int set_long_mode(struct kq_vm *vm, struct kq_vcpu *v, uint64_t params_gpa)
{
	struct kvm_sregs s;
	if (KQ_IOCTL(v->fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	seg(&s.cs, KQ_SEL_CODE, 0xb, true, 0);
	seg(&s.ds, KQ_SEL_DATA, 0x3, false, 0);
	s.es = s.fs = s.ss = s.ds;
	/* GS base is the parameter page: the guest finds its own with %gs:0. */
	seg(&s.gs, KQ_SEL_DATA, 0x3, false, params_gpa);
	s.tr = (struct kvm_segment){
	    .base = KQ_TSS_GPA, .limit = 0x67, .selector = KQ_SEL_TSS, .type = 0xb, .present = 1};
	s.ldt = (struct kvm_segment){.unusable = 1, .type = 0x2, .present = 0};
	s.gdt.base = KQ_GDT_GPA;
	s.gdt.limit = 5 * 8 - 1;
	s.idt.base = KQ_IDT_GPA;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = vm->pt.pml4;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	/* Opt-in: with CR4.OSXSAVE, KVM swaps XCR0 around every entry when the
	 * guest's differs from the host's, which adds to every exit measured. */
	if (vm->cfg.xsave)
		s.cr4 |= CR4_OSXSAVE;
	s.efer = EFER_LME | EFER_LMA;
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(vm->kvm->cpuid, 0x80000001, 0);
	if (e && (e->edx & (1u << 20)))
		s.efer |= EFER_NXE;
	if (KQ_IOCTL(v->fd, KVM_SET_SREGS, &s) < 0)
		return -1;

	struct kvm_regs r = {
	    .rip = vm->entry,
	    .rsp = KQ_VCPU_AREA_GPA + (uint64_t)v->index * KQ_VCPU_AREA_SIZE + KQ_VCPU_STACK_TOP,
	    .rdi = params_gpa,
	    .rflags = 0x2,
	};
	return KQ_IOCTL(v->fd, KVM_SET_REGS, &r) < 0 ? -1 : 0;
}

static void fill_params(struct kq_vm *vm, struct kq_vcpu *v, uint64_t area)
{
	uint64_t gpa = area + KQ_VCPU_PARAMS_OFF;
	struct kq_params *p = kq_vm_gpa_to_hva(vm, gpa, sizeof(*p));
	kq_vm_mark_dirty(vm, gpa, sizeof(*p));
	const struct kq_vm_config *c = &vm->cfg;
	memset(p, 0, sizeof(*p));
	p->self = area + KQ_VCPU_PARAMS_OFF;
	p->abi_version = KQ_ABI_VERSION;
	p->vcpu = (uint32_t)v->index;
	p->nr_vcpus = (uint32_t)c->vcpus;
	p->tsc_khz = vm->tsc_khz;
	p->time_goal_cycles = c->time_goal_cycles;
	p->test_gpa = c->test_mem ? KQ_TEST_GPA : 0;
	p->test_size = kq_vm_test_mem(vm)->size;
	p->mmio_gpa = KQ_MMIO_GPA;
	p->samples_gpa = area + KQ_VCPU_SAMPLES_OFF;
	memcpy(p->args, c->args, sizeof(p->args));
	snprintf(p->workload, sizeof(p->workload), "%s", c->workload ? c->workload : "");
	p->nsteps = (uint32_t)(c->nsteps > KQ_MAX_STEPS_ABI ? KQ_MAX_STEPS_ABI : c->nsteps);
	if (p->nsteps)
		memcpy(p->steps, c->steps, p->nsteps * sizeof(p->steps[0]));
	v->params = p;
}

int kq_vcpu_init(struct kq_vm *vm, struct kq_vcpu *v, int i)
{
	v->vm = vm;
	v->index = i;
	pthread_mutex_init(&v->kick_lock, NULL);
	v->host_cpu = vm->cfg.cpus ? vm->cfg.cpus[i] : -1;
	v->fd = (int)KQ_IOCTL(vm->fd, KVM_CREATE_VCPU, (void *)(long)i);
	if (v->fd < 0)
		return -1;
	v->run =
	    mmap(NULL, (size_t)vm->kvm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return kq_err_errno("mmap kvm_run of vCPU %d", i);
	}
	if (set_cpuid(vm, v) < 0 || kq_dirty_vcpu_init(vm, v) < 0)
		return -1;
	if (i == 0) {
		long khz = KQ_IOCTL(v->fd, KVM_GET_TSC_KHZ, NULL);
		if (khz <= 0)
			return khz < 0 ? -1 : kq_err_set("KVM_GET_TSC_KHZ returned 0");
		vm->tsc_khz = (uint64_t)khz;
	}
	uint64_t area = KQ_VCPU_AREA_GPA + (uint64_t)i * KQ_VCPU_AREA_SIZE;
	fill_params(vm, v, area);
	if (set_long_mode(vm, v, area + KQ_VCPU_PARAMS_OFF) < 0)
		return -1;
	if (vm->cfg.irqchip != KQ_IRQCHIP_NONE && i > 0) {
		/* With an in-kernel LAPIC, APs wait for INIT/SIPI; we start them directly. */
		struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};
		if (KQ_IOCTL(v->fd, KVM_SET_MP_STATE, &mp) < 0)
			return -1;
	}
	return 0;
}

void kq_vcpu_destroy(struct kq_vcpu *v)
{
	if (!v->vm)
		return; /* never initialised */
	kq_dirty_vcpu_destroy(v->vm, v);
	pthread_mutex_destroy(&v->kick_lock);
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
	v->vm = NULL;
}

void kq_vcpu_describe_regs(struct kq_vcpu *v, char *buf, size_t len)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		snprintf(buf, len, "registers unavailable: %s", strerror(errno));
		return;
	}
	snprintf(buf, len,
		 "RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx RAX 0x%llx RDI 0x%llx CR0 0x%llx CR2 0x%llx "
		 "CR3 0x%llx CR4 0x%llx EFER 0x%llx CS 0x%x",
		 r.rip, r.rsp, r.rflags, r.rax, r.rdi, s.cr0, s.cr2, s.cr3, s.cr4, s.efer,
		 s.cs.selector);
}

int kq_vcpu_fd(const struct kq_vcpu *v)
{
	return v->fd;
}

int kq_vcpu_index(const struct kq_vcpu *v)
{
	return v->index;
}

struct kq_vm *kq_vcpu_vm(const struct kq_vcpu *v)
{
	return v->vm;
}

struct kq_params *kq_vcpu_params(struct kq_vcpu *v)
{
	/* A writable pointer handed out counts as a write. */
	kq_vm_mark_dirty(v->vm, v->params->self, sizeof(*v->params));
	return v->params;
}

struct kvm_run *kq_vcpu_kvm_run(struct kq_vcpu *v)
{
	return v->run;
}

uint64_t kq_vcpu_exit_count(const struct kq_vcpu *v, uint32_t reason)
{
	return reason < 64 ? v->exits[reason] : 0;
}

uint64_t kq_vcpu_ucall_count(const struct kq_vcpu *v)
{
	return v->ucalls;
}

bool kq_vcpu_done(const struct kq_vcpu *v)
{
	return atomic_load(&v->done);
}

const char *kq_vcpu_failure(const struct kq_vcpu *v)
{
	return v->failure;
}

int kq_vcpu_get_regs(struct kq_vcpu *v, struct kvm_regs *r)
{
	return KQ_IOCTL(v->fd, KVM_GET_REGS, r) < 0 ? -1 : 0;
}

int kq_vcpu_set_regs(struct kq_vcpu *v, const struct kvm_regs *r)
{
	return KQ_IOCTL(v->fd, KVM_SET_REGS, (void *)r) < 0 ? -1 : 0;
}

int kq_vcpu_get_sregs(struct kq_vcpu *v, struct kvm_sregs *s)
{
	return KQ_IOCTL(v->fd, KVM_GET_SREGS, s) < 0 ? -1 : 0;
}

int kq_vcpu_set_sregs(struct kq_vcpu *v, const struct kvm_sregs *s)
{
	return KQ_IOCTL(v->fd, KVM_SET_SREGS, (void *)s) < 0 ? -1 : 0;
}

struct kvm_cpuid2 *kq_vcpu_get_cpuid(struct kq_vcpu *v)
{
	/* Room for every leaf KVM offers: a vCPU's list is never longer. */
	uint32_t nent = v->vm->kvm->cpuid->nent;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
	if (!c) {
		kq_err_set("out of memory for CPUID");
		return NULL;
	}
	c->nent = nent;
	if (KQ_IOCTL(v->fd, KVM_GET_CPUID2, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

int kq_vcpu_set_cpuid(struct kq_vcpu *v, const struct kvm_cpuid2 *c)
{
	return KQ_IOCTL(v->fd, KVM_SET_CPUID2, (void *)c) < 0 ? -1 : 0;
}

int kq_vcpu_enable_cap_named(struct kq_vcpu *v, uint32_t cap, uint64_t arg0, const char *name)
{
	struct kvm_enable_cap c = {.cap = cap, .args = {arg0}};
	if (ioctl(v->fd, KVM_ENABLE_CAP, &c) < 0)
		return kq_err_errno("ioctl KVM_ENABLE_CAP(%s, 0x%llx) on vCPU %d", name,
				    (unsigned long long)arg0, v->index);
	return 0;
}

int kq_vcpu_stats_fd(struct kq_vcpu *v)
{
	return (int)KQ_IOCTL(v->fd, KVM_GET_STATS_FD, NULL);
}

int kq_vcpu_ucall_reply(struct kq_vcpu *v, int i, uint64_t value)
{
	if (i < 0 || i >= 6)
		return kq_err_set("ucall reply: args[%d] does not exist (0..5)", i);
	if (!v->last_ucall_gpa)
		return kq_err_set("ucall reply: vCPU %d has sent no ucall", v->index);
	uint64_t gpa = v->last_ucall_gpa + offsetof(struct kq_ucall, args) + (uint64_t)i * 8;
	return kq_vm_write(v->vm, gpa, &value, sizeof(value));
}
