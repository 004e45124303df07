/* MSR accesses routed to our userspace: KVM_CAP_X86_USER_SPACE_MSR with the
 * filter reason, and a KVM_X86_SET_MSR_FILTER that denies KQ_MSR_USER, so
 * each RDMSR/WRMSR of it leaves KVM as KVM_EXIT_X86_RDMSR/WRMSR and the host
 * answers it here. Every other MSR keeps KVM's own handling. */
#include "workloads/exit_common.h"
#include "vmm/err.h"

#include <string.h>

struct user_msr {
	/* RDMSR answers KQ_MSR_USER_VALUE until the first WRMSR, then the last
	 * value written: the guest checks both. */
	uint64_t written;
	bool have_written;
};

static int on_msr(void *ctx, struct kq_vcpu *v, struct kvm_run *run)
{
	struct user_msr *m = ctx;
	bool rd = run->exit_reason == KVM_EXIT_X86_RDMSR;
	if (run->msr.index != KQ_MSR_USER || run->msr.reason != KVM_MSR_EXIT_REASON_FILTER) {
		kq_vcpu_fail(v, "unexpected %s of MSR 0x%x in userspace (reason 0x%x)",
			     rd ? "RDMSR" : "WRMSR", run->msr.index, run->msr.reason);
		return -1;
	}
	if (rd) {
		run->msr.data = m->have_written ? m->written : KQ_MSR_USER_VALUE;
	} else {
		m->written = run->msr.data;
		m->have_written = true;
	}
	run->msr.error = 0;
	return 0;
}

static int user_msr_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	static struct user_msr state;
	memset(&state, 0, sizeof(state));
	/* A clear bit denies: reads and writes of KQ_MSR_USER leave the kernel. */
	uint8_t deny = 0;
	struct kvm_msr_filter f = {.flags = KVM_MSR_FILTER_DEFAULT_ALLOW};
	f.ranges[0] = (struct kvm_msr_filter_range){
	    .flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
	    .nmsrs = 1,
	    .base = KQ_MSR_USER,
	    .bitmap = &deny,
	};
	if (kq_vm_enable_cap(g->vm, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER) < 0 ||
	    kq_vm_set_msr_filter(g->vm, &f) < 0 ||
	    kq_vm_register_exit(g->vm, KVM_EXIT_X86_RDMSR, on_msr, &state) < 0 ||
	    kq_vm_register_exit(g->vm, KVM_EXIT_X86_WRMSR, on_msr, &state) < 0) {
		kq_result_set_status(c->res, KQ_FAIL, "routing MSR 0x%x to userspace: %s",
				     KQ_MSR_USER, kq_err());
		return -1;
	}
	return 0;
}

static const struct kq_exit_kind kinds[] = {
    {.name = "exit.msr-read-user",
     .kind = "msr-read-user",
     .handled_in = "userspace",
     .summary = "RDMSR denied by an MSR filter, answered by our userspace",
     .setup = user_msr_setup,
     .user_exit = "X86_RDMSR",
     .user_expect = KQ_UEXIT_EACH},
    {.name = "exit.msr-write-user",
     .kind = "msr-write-user",
     .handled_in = "userspace",
     .summary = "WRMSR denied by an MSR filter, taken by our userspace",
     .setup = user_msr_setup,
     .user_exit = "X86_WRMSR",
     .user_expect = KQ_UEXIT_EACH},
    {0},
};

__attribute__((constructor)) static void register_kinds(void)
{
	kq_exit_register(kinds);
}
