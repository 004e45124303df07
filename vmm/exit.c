/* Exit dispatch: the ucall port, registered PIO/MMIO handlers, and a precise
 * failure for every exit nobody expects. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"

#include <stdio.h>
#include <string.h>

const char *kq_exit_reason_name(uint32_t reason)
{
	static const char *const names[] = {
	    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
	    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
	    [KVM_EXIT_IO] = "IO",
	    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
	    [KVM_EXIT_DEBUG] = "DEBUG",
	    [KVM_EXIT_HLT] = "HLT",
	    [KVM_EXIT_MMIO] = "MMIO",
	    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	    [KVM_EXIT_INTR] = "INTR",
	    [KVM_EXIT_SET_TPR] = "SET_TPR",
	    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	    [KVM_EXIT_NMI] = "NMI",
	    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	    [KVM_EXIT_OSI] = "OSI",
	    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	    [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
	    [KVM_EXIT_HYPERV] = "HYPERV",
	    [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
	    [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	    [KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
	    [KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
	};
	if (reason < sizeof(names) / sizeof(names[0]) && names[reason])
		return names[reason];
	return "?";
}

const char *kq_exception_name(unsigned vector)
{
	static const char *const names[32] = {
	    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	    "#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	    "?22", "?23", "?24", "?25", "?26", "?27", "#HV", "#VC", "#SX", "?31",
	};
	return vector < 32 ? names[vector] : "interrupt";
}

static void fail_with_regs(struct kq_vcpu *v, const char *what)
{
	char regs[400];
	kq_vcpu_describe_regs(v, regs, sizeof(regs));
	kq_vcpu_fail(v, "%s at %s", what, regs);
}

static int exit_event(struct kq_vcpu_event *ev, uint32_t reason)
{
	*ev = (struct kq_vcpu_event){.kind = KQ_EV_EXIT, .exit_reason = reason};
	return 0;
}

static int dispatch_ucall(struct kq_vcpu *v, uint32_t gpa, struct kq_vcpu_event *ev)
{
	struct kq_ucall *uc = kq_vm_gpa_to_hva(v->vm, gpa, sizeof(*uc));
	if (!uc) {
		kq_vcpu_fail(v, "ucall message at 0x%x lies outside guest RAM", gpa);
		return -1;
	}
	v->ucalls++;
	v->last_ucall_gpa = gpa;
	if (uc->kind == KQ_UC_BOOT)
		return 1;
	if (uc->kind == KQ_UC_DONE)
		atomic_store(&v->done, true);
	*ev = (struct kq_vcpu_event){.kind = KQ_EV_UCALL,
				     .exit_reason = KVM_EXIT_IO,
				     .ucall = uc->kind,
				     .uc = uc,
				     .ucall_gpa = gpa};
	return 0;
}

static int dispatch_io(struct kq_vcpu *v, struct kq_vcpu_event *ev)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;
	if (run->io.port == KQ_UCALL_PORT && out && run->io.size == 4 && run->io.count == 1) {
		uint32_t gpa;
		memcpy(&gpa, data, 4);
		return dispatch_ucall(v, gpa, ev);
	}
	struct kq_vm *vm = v->vm;
	for (int i = 0; i < vm->npio; i++) {
		struct kq_pio_range *h = &vm->pio[i];
		if (run->io.port >= h->base && run->io.port < h->base + h->len) {
			for (uint32_t k = 0; k < run->io.count; k++)
				if (h->fn(h->ctx, v, run->io.port, data + k * run->io.size,
					  run->io.size, out) < 0)
					return -1;
			return 1;
		}
	}
	return exit_event(ev, KVM_EXIT_IO);
}

static int dispatch_mmio(struct kq_vcpu *v, struct kq_vcpu_event *ev)
{
	struct kvm_run *run = v->run;
	struct kq_vm *vm = v->vm;
	uint64_t a = run->mmio.phys_addr;
	for (int i = 0; i < vm->nmmio; i++) {
		struct kq_mmio_range *h = &vm->mmio[i];
		if (a >= h->base && a < h->base + h->len)
			return h->fn(h->ctx, v, a, run->mmio.data, (int)run->mmio.len,
				     run->mmio.is_write) < 0
				   ? -1
				   : 1;
	}
	return exit_event(ev, KVM_EXIT_MMIO);
}

int kq_exit_dispatch(struct kq_vcpu *v, struct kq_vcpu_event *ev)
{
	struct kvm_run *run = v->run;
	uint32_t reason = run->exit_reason;
	if (reason < 64)
		v->exits[reason]++;
	switch (reason) {
	case KVM_EXIT_IO:
		return dispatch_io(v, ev);
	case KVM_EXIT_MMIO:
		return dispatch_mmio(v, ev);
	case KVM_EXIT_DIRTY_RING_FULL:
		/* Harvest, reset, run on: KVM lets the vCPU continue once the
		 * ring has room again. */
		if (kq_dirty_ring_full(v->vm, v) < 0) {
			kq_vcpu_fail(v, "dirty ring full: %s", kq_err());
			return -1;
		}
		return 1;
	default:
		if (reason < 64 && v->vm->exit_fn[reason])
			return v->vm->exit_fn[reason](v->vm->exit_ctx[reason], v, run) < 0 ? -1 : 1;
		return exit_event(ev, reason);
	}
}

/* Thread mode: a ucall the vmm passed up. */
static int thread_ucall(struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct kq_vm *vm = v->vm;
	switch (uc->kind) {
	case KQ_UC_DONE:
		return 0;
	case KQ_UC_ASSERT:
		kq_vcpu_fail(v, "guest assertion failed: %.*s", (int)sizeof(uc->text), uc->text);
		return -1;
	case KQ_UC_EXCEPTION: {
		unsigned vec = (unsigned)uc->args[0];
		kq_vcpu_fail(v,
			     "unexpected guest exception %s (vector %u) at RIP 0x%llx, error code "
			     "0x%llx, CR2 0x%llx",
			     kq_exception_name(vec), vec, (unsigned long long)uc->args[1],
			     (unsigned long long)uc->args[2], (unsigned long long)uc->args[3]);
		return -1;
	}
	default:
		break;
	}
	int r = 0;
	if (vm->ucall_fn) {
		pthread_mutex_lock(&vm->lock);
		r = vm->ucall_fn(vm->ucall_ctx, v, uc);
		pthread_mutex_unlock(&vm->lock);
	}
	if (r < 0 && !v->failure[0])
		kq_vcpu_fail(v, "ucall handler refused message kind %u", uc->kind);
	return r < 0 ? -1 : 1;
}

/* Thread mode: an exit nobody handles fails the VM, precisely. */
static int thread_exit(struct kq_vcpu *v, uint32_t reason)
{
	struct kvm_run *run = v->run;
	char what[256];
	switch (reason) {
	case KVM_EXIT_IO:
		snprintf(what, sizeof(what), "unexpected port %s 0x%x (size %u)",
			 run->io.direction == KVM_EXIT_IO_OUT ? "write to" : "read from",
			 run->io.port, run->io.size);
		break;
	case KVM_EXIT_MMIO:
		snprintf(what, sizeof(what), "unexpected MMIO %s at 0x%llx (len %u)",
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	case KVM_EXIT_HLT:
		snprintf(what, sizeof(what),
			 "guest halted (KVM_EXIT_HLT) with no interrupt source");
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(what, sizeof(what), "triple fault (KVM_EXIT_SHUTDOWN)");
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "VM entry failed (KVM_EXIT_FAIL_ENTRY, hardware reason 0x%llx, CPU %u)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR: {
		int n = snprintf(what, sizeof(what), "KVM internal error (suberror %u",
				 run->internal.suberror);
		for (uint32_t i = 0; i < run->internal.ndata && i < 4 && n < (int)sizeof(what); i++)
			n += snprintf(what + n, sizeof(what) - (size_t)n, ", data[%u] 0x%llx", i,
				      (unsigned long long)run->internal.data[i]);
		if (n < (int)sizeof(what))
			snprintf(what + n, sizeof(what) - (size_t)n, ")");
		break;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(what, sizeof(what), "guest system event (KVM_EXIT_SYSTEM_EVENT type %u)",
			 run->system_event.type);
		break;
	default:
		snprintf(what, sizeof(what), "unexpected exit KVM_EXIT_%s (%u)",
			 kq_exit_reason_name(reason), reason);
		break;
	}
	fail_with_regs(v, what);
	return -1;
}

int kq_vcpu_handle_exit(struct kq_vcpu *v)
{
	struct kq_vcpu_event ev;
	int r = kq_exit_dispatch(v, &ev);
	if (r != 0)
		return r;
	return ev.kind == KQ_EV_UCALL ? thread_ucall(v, ev.uc) : thread_exit(v, ev.exit_reason);
}
