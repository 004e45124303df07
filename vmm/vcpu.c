/* vCPUs: long-mode register state, CPUID, one pinned thread each, watchdog. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define KQ_KICK_SIGNAL SIGUSR1

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
	struct kq_params *p = (struct kq_params *)(vm->sys.host + area + KQ_VCPU_PARAMS_OFF);
	const struct kq_vm_config *c = &vm->cfg;
	memset(p, 0, sizeof(*p));
	p->self = area + KQ_VCPU_PARAMS_OFF;
	p->abi_version = KQ_ABI_VERSION;
	p->vcpu = (uint32_t)v->index;
	p->nr_vcpus = (uint32_t)c->vcpus;
	p->tsc_khz = vm->tsc_khz;
	p->time_goal_cycles = c->time_goal_cycles;
	p->test_gpa = c->test_mem ? KQ_TEST_GPA : 0;
	p->test_size = vm->test.size;
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
	if (set_cpuid(vm, v) < 0)
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
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
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

static void kick(struct kq_vcpu *v)
{
	if (v->run)
		v->run->immediate_exit = 1;
	if (v->thread)
		pthread_kill(v->thread, KQ_KICK_SIGNAL);
}

void kq_vm_stop(struct kq_vm *vm)
{
	atomic_store(&vm->stopping, true);
	for (int i = 0; i < vm->nvcpus; i++)
		kick(&vm->vcpus[i]);
}

void kq_vcpu_fail(struct kq_vcpu *v, const char *fmt, ...)
{
	struct kq_vm *vm = v->vm;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->failure, sizeof(v->failure), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&vm->lock);
	if (!vm->failure[0])
		snprintf(vm->failure, sizeof(vm->failure), "vCPU %d: %s", v->index, v->failure);
	pthread_mutex_unlock(&vm->lock);
	kq_vm_stop(vm);
}

static int pin_thread(struct kq_vcpu *v)
{
	if (v->host_cpu < 0)
		return 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(v->host_cpu, &set);
	int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (e) {
		errno = e;
		kq_vcpu_fail(v, "pthread_setaffinity_np(CPU %d): %s", v->host_cpu, strerror(e));
		return -1;
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct kq_vcpu *v = arg;
	struct kq_vm *vm = v->vm;
	if (pin_thread(v) < 0)
		return NULL;
	for (;;) {
		if (atomic_load(&vm->stopping))
			break;
		int r = ioctl(v->fd, KVM_RUN, NULL);
		if (r < 0 && errno != EINTR) {
			kq_vcpu_fail(v, "ioctl KVM_RUN: %s (%s)", strerror(errno),
				     kq_errno_name(errno));
			break;
		}
		if (v->index == 0 && !atomic_load(&vm->t_first_exit_ns))
			atomic_store(&vm->t_first_exit_ns, kq_now_ns());
		if (r < 0 || v->run->exit_reason == KVM_EXIT_INTR) {
			v->exits[KVM_EXIT_INTR]++;
			if (atomic_load(&vm->watchdog_fired) && !v->done) {
				char regs[400];
				kq_vcpu_describe_regs(v, regs, sizeof(regs));
				kq_vcpu_fail(
				    v, "watchdog: not done within %.1f s time limit, stopped at %s",
				    vm->cfg.time_limit_s, regs);
			}
			if (atomic_load(&vm->stopping))
				break;
			continue;
		}
		int h = kq_vcpu_handle_exit(v);
		if (h <= 0)
			break;
	}
	return NULL;
}

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

static void install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(KQ_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
}

int kq_vm_run(struct kq_vm *vm)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_kick_handler);

	atomic_store(&vm->stopping, false);
	atomic_store(&vm->watchdog_fired, false);
	int started = 0;
	for (int i = 0; i < vm->nvcpus; i++) {
		struct kq_vcpu *v = &vm->vcpus[i];
		v->run->immediate_exit = 0;
		int e = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (e) {
			kq_vcpu_fail(v, "pthread_create: %s", strerror(e));
			break;
		}
		started++;
	}

	/* The watchdog: wait for every vCPU thread, stopping them all at the deadline. */
	uint64_t deadline = vm->cfg.time_limit_s > 0
				? kq_now_ns() + (uint64_t)(vm->cfg.time_limit_s * 1e9)
				: UINT64_MAX;
	for (int i = 0; i < started; i++) {
		struct kq_vcpu *v = &vm->vcpus[i];
		for (;;) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t now = kq_now_ns();
			uint64_t wait =
			    atomic_load(&vm->watchdog_fired) || now >= deadline
				? 100000000ULL
				: (deadline - now < 100000000ULL ? deadline - now : 100000000ULL);
			ts.tv_nsec += (long)wait;
			ts.tv_sec += ts.tv_nsec / 1000000000L;
			ts.tv_nsec %= 1000000000L;
			if (pthread_timedjoin_np(v->thread, NULL, &ts) == 0)
				break;
			if (kq_now_ns() >= deadline) {
				atomic_store(&vm->watchdog_fired, true);
				kq_vm_stop(vm);
			}
		}
		v->thread = 0;
	}
	for (int i = 0; i < vm->nvcpus; i++)
		if (!vm->vcpus[i].done && !vm->failure[0])
			kq_vcpu_fail(&vm->vcpus[i], "stopped before DONE");
	return vm->failure[0] ? -1 : 0;
}
