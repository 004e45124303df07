/* Host side shared by the exit kinds: the host's view of a row of
 * workloads/exit_table.def, the generic driver that runs it through
 * kq_guest_run, capability checks that turn a missing CPU feature into a
 * precise SKIP, and the evidence checks that turn "the expected exit did not
 * happen" into a FAIL. */
#ifndef KQ_WORKLOADS_EXIT_COMMON_H
#define KQ_WORKLOADS_EXIT_COMMON_H

#include "workloads/exit_abi.h"
#include "workloads/exit_table.h"
#include "workloads/reference.h"
#include "workloads/vmhost.h"

/* What the userspace exit counts (vmm exit dispatch) must show. */
enum kq_user_exit_expect {
	KQ_UEXIT_ANY = 0, /* no check */
	KQ_UEXIT_EACH,	  /* at least one exit of that reason per measured iteration */
	KQ_UEXIT_FEW,	  /* fewer than half the iterations: the ucalls, not the accesses */
};

struct kq_exit_ctx;

/* What a kind adds to the generic driver on the host (the row's KQ_HOOKS). */
struct kq_exit_hooks {
	const struct kq_param_spec *params;
	/* Before the VM is built: fill c->go (args, handlers), swap c->test,
	 * check the host. -1 after setting SKIP or FAIL. */
	int (*prepare)(struct kq_exit_ctx *c);
	/* VM built, not yet run: CPUID, registers, exit handlers. -1 after SKIP or FAIL. */
	int (*setup)(struct kq_exit_ctx *c, struct kq_guest_run *g);
	/* Always called last (clean-up); ran is true when the guest finished. */
	void (*finish)(struct kq_exit_ctx *c, bool ran);
};

/* One row of workloads/exit_table.def, as the host sees it. */
struct kq_exit_kind {
	enum kq_exit_id id;
	const char *name;	/* driver and guest workload: "exit.<kind>" */
	const char *kind;	/* the samples' name and labels.kind */
	const char *handled_in; /* labels.handled_in: "kernel", "userspace" or "none" */
	const char *summary;
	enum kq_irqchip irqchip;
	bool plain_loop; /* the guest side is a KQ_LOOP: exit.scaling can run it */
	const struct kq_exit_hooks *hooks; /* never NULL (an empty set for KQ_NOHOOKS) */
	/* A KVM vCPU statistic that must grow by at least the measured iterations. */
	const char *stat;
	/* A userspace exit reason (kq_exit_reason_name) and what its count must show. */
	const char *user_exit;
	enum kq_user_exit_expect user_expect;
};

/* Every row, indexed by its id. */
extern const struct kq_exit_kind kq_exit_kinds[KQ_EXIT_COUNT];

struct kq_exit_ctx {
	const struct kq_exit_kind *k;
	const struct kq_test *test; /* what kq_guest_run gets: t, or a changed copy */
	const struct kq_test *t;
	const struct kq_run_opts *o;
	struct kq_result *res;
	struct kq_guest_opts go;
	struct kq_kind_label labels[2];
	void *priv; /* the kind's own state */
};

/* The generic driver every row is registered with (d->data is the row). */
void kq_exit_run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		 struct kq_result *res);
/* SKIP unless the guest's CPUID has at least one of n (leaf, reg, bit)
 * features; the reason names each with what it is. */
struct kq_cpuid_bit {
	uint32_t leaf;
	int reg; /* 0 EAX, 1 EBX, 2 ECX, 3 EDX */
	int bit;
	const char *feature;
};
int kq_exit_need_any_cpuid(struct kq_exit_ctx *c, struct kq_guest_run *g,
			   const struct kq_cpuid_bit *bits, int n);

/* SKIP unless the guest's CPUID (KVM_GET_SUPPORTED_CPUID, as the vmm sets
 * it) has bit `bit` of register reg (0 EAX, 1 EBX, 2 ECX, 3 EDX) in leaf. */
int kq_exit_need_cpuid(struct kq_exit_ctx *c, struct kq_guest_run *g, uint32_t leaf, int reg,
		       int bit, const char *feature);
/* Makes sure the guest's CPUID offers the TSC-deadline timer, adding the bit
 * when KVM implements it but leaves it out of its supported list; SKIP otherwise. */
int kq_exit_need_tsc_deadline(struct kq_exit_ctx *c, struct kq_guest_run *g);
/* The same where KVM can offer the timer, and nothing where it cannot: for
 * kinds that only want the guest's watchdog (kq_guard_arm) when there is one. */
int kq_exit_want_tsc_deadline(struct kq_exit_ctx *c, struct kq_guest_run *g);
/* Sets bits in CR4 of every vCPU before it first runs (KVM_GET/SET_SREGS). */
int kq_exit_set_cr4(struct kq_exit_ctx *c, struct kq_guest_run *g, uint64_t bits);

/* When the kind passed and its `reference` parameter is not off: runs the
 * kind's guest again and the bare KVM_RUN loop, interleaved in KQ_REF_ROUNDS
 * rounds (A B B A ...), and adds "reference.<kind>.cycles/.ns" and
 * "interleaved.<kind>.cycles" (each side's pooled samples),
 * "ratio_vs_reference.rounds" (each round's ratio of medians) and the values
 * ratio_vs_reference (their geometric mean) with ".ci95_low"/".ci95_high"
 * (workloads/exit_reference.c). A failing round fails the test. */
void kq_exit_add_reference(struct kq_exit_ctx *c, enum kq_reference_kind ref);
/* Registers the discarding device behind KQ_PIO_BENCH_PORT (pio-user). */
int kq_exit_pio_user_setup(struct kq_exit_ctx *c, struct kq_guest_run *g);

/* Iterations the guest measured for samples named `kind` (n x batch size,
 * warm-up and batch growth not counted): a lower bound on the exits. */
uint64_t kq_exit_measured_iters(const struct kq_result *res, const char *kind);
/* evidence[key][name] as an integer; 0 when absent, -1 when key is absent. */
int64_t kq_exit_evidence_count(const struct kq_result *res, const char *key, const char *name);

#endif
