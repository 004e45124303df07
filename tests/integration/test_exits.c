/* Integration: every exit kind declared in suite.conf (groups exits,
 * exits-scaling, exits-nodefault) runs briefly through the runner's own
 * isolation (a forked child per test) and must produce its samples with
 * kind and handled_in labels, or SKIP with a reason. Independently of the
 * drivers' own checks, the evidence must show the expected exits: userspace
 * exit counts for the kinds our VMM handles, none for those KVM handles, KVM's
 * counters where it keeps one. Needs /dev/kvm; without it, one SKIP. */
#include "tests/integration/suite_test.h"
#include "tests/tap.h"
#include "workloads/reference.h"
#include "probes/probe.h"
#include "core/tap.h"
#include "runner/conf.h"
#include "runner/execute.h"
#include "vmm/err.h"
#include "vmm/kvm.h"
#include "vmm/vm.h"
#include "workloads/exit_abi.h"

#include <stdlib.h>

/* What each kind's evidence must show, beyond producing samples. */
struct expect {
	const char *kind;
	const char *handled_in;
	const char *user_exit; /* userspace exit reason: at least one per iteration */
	const char *not_user;  /* userspace exit reason that must stay below the iterations */
	const char *stat;      /* KVM counter of at least one per iteration (or emulation) */
	const char *skip_why;  /* a SKIP must name this (the CPUID bit); NULL: any reason */
};

static const struct expect expects[] = {
    {"empty", "none", NULL, NULL, NULL, NULL},
    {"rdtsc", "none", NULL, NULL, NULL, NULL},
    {"rdtscp", "none", NULL, NULL, NULL, NULL},
    {"cpuid", "kernel", NULL, "IO", NULL, NULL},
    {"hypercall", "kernel", NULL, NULL, "hypercalls", NULL},
    {"msr-read-kernel", "kernel", NULL, "X86_RDMSR", NULL, NULL},
    {"msr-write-kernel", "kernel", NULL, "X86_WRMSR", NULL, NULL},
    {"msr-read-user", "userspace", "X86_RDMSR", NULL, NULL, NULL},
    {"msr-write-user", "userspace", "X86_WRMSR", NULL, NULL, NULL},
    {"pio-kernel", "kernel", NULL, "IO", "io_exits", NULL},
    {"pio-user", "userspace", "IO", NULL, NULL, NULL},
    {"mmio-user", "userspace", "MMIO", NULL, NULL, NULL},
    {"mmio-kernel", "kernel", NULL, "MMIO", NULL, NULL},
    {"ioeventfd", "kernel", NULL, "MMIO", NULL, NULL},
    {"hlt-timer", "kernel", NULL, "HLT", "halt_exits", NULL},
    {"tscdeadline-immediate", "kernel", NULL, "X86_WRMSR", NULL, NULL},
    {"tscdeadline-future", "kernel", NULL, NULL, NULL, NULL},
    {"cr8-write", "kernel", NULL, "SET_TPR", NULL, NULL},
    {"xsetbv", "kernel", NULL, NULL, NULL, NULL},
    {"invlpg", "kernel", NULL, NULL, NULL, NULL},
    {"dr7-write", "kernel", NULL, NULL, NULL, NULL},
    {"dr0-read", "kernel", NULL, NULL, NULL, NULL},
    {"self-ipi-xapic", "kernel", NULL, "MMIO", NULL, NULL},
    {"self-ipi-x2apic", "kernel", NULL, "X86_WRMSR", NULL, NULL},
    {"ipi-pingpong", "kernel", NULL, "MMIO", NULL, NULL},
    {"wbinvd", "kernel", NULL, NULL, NULL, NULL},
    {"invd", "kernel", NULL, NULL, NULL, NULL},
    /* The kinds of kvm-unit-tests' x86/vmexit.c added as rows. */
    {"cr8-read", "kernel", NULL, "SET_TPR", NULL, NULL},
    {"cr0-wp-toggle", "kernel", NULL, NULL, NULL, NULL},
    {"cr4-pge-toggle", "kernel", NULL, NULL, NULL, "leaf 0x1 EDX bit 13"},
    {"self-ipi-tpr-xapic", "kernel", NULL, "MMIO", NULL, NULL},
    {"self-ipi-tpr-x2apic", "kernel", NULL, "X86_WRMSR", NULL, "x2APIC"},
    {"self-ipi-sti-hlt-xapic", "kernel", NULL, "MMIO", "halt_exits", NULL},
    {"self-ipi-sti-hlt-x2apic", "kernel", NULL, "HLT", "halt_exits", "x2APIC"},
    {"ipi-halted", "kernel", NULL, "HLT", NULL, "x2APIC"},
    {"pause-loop", "kernel", NULL, NULL, NULL, NULL},
    {"kernel-gs-base-write", "none", NULL, "X86_WRMSR", NULL, NULL},
    {"spec-ctrl-write", "kernel", NULL, "X86_WRMSR", NULL, "leaf 0x7 EDX bit 26 (IBRS/IBPB)"},
    {"pred-cmd-write", "kernel", NULL, "X86_WRMSR", NULL, "leaf 0x7 EDX bit 26 (IBRS/IBPB)"},
    {"tsx-ctrl-write", "kernel", NULL, "X86_WRMSR", NULL, "ARCH_CAPABILITIES"},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct expect *expect_for(const char *kind)
{
	for (const struct expect *e = expects; e->kind; e++)
		if (strcmp(e->kind, kind) == 0)
			return e;
	return NULL;
}

static json_t *find_metric(json_t *res, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(res, "metrics"), i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
			return m;
	}
	return NULL;
}

static long long evidence(json_t *res, const char *key, const char *name)
{
	json_t *e = json_object_get(json_object_get(res, "evidence"), key);
	return json_integer_value(json_object_get(e, name));
}

static const char *label(json_t *m, const char *key)
{
	return json_string_value(json_object_get(json_object_get(m, "labels"), key));
}

/* n x batch size of the samples: the iterations measured. */
static long long iterations(json_t *m)
{
	long long n = json_integer_value(json_object_get(json_object_get(m, "stats"), "n"));
	long long b =
	    json_integer_value(json_object_get(json_object_get(m, "labels"), "batch_size"));
	return n * b;
}

/* The kind a test measures: its driver's name without "exit.". */
static const char *kind_of(const struct kq_test *t)
{
	return strncmp(t->workload, "exit.", 5) == 0 ? t->workload + 5 : t->workload;
}

static void check_samples(const struct kq_test *t, json_t *res)
{
	const char *kind = kind_of(t);
	const struct expect *e = expect_for(kind);
	char name[96];
	snprintf(name, sizeof(name), t->vcpus > 1 ? "vcpu0.%s.cycles" : "%s.cycles", kind);
	json_t *mc = find_metric(res, name);
	snprintf(name, sizeof(name), t->vcpus > 1 ? "vcpu0.%s.ns" : "%s.ns", kind);
	json_t *mn = find_metric(res, name);
	double median = json_number_value(json_object_get(json_object_get(mn, "stats"), "median"));
	ok(mc && mn && median > 0, "%s: %s.cycles and .ns samples (median %.0f ns)", t->name, kind,
	   median);
	if (!mc || !mn || !e)
		return;
	is_str(label(mn, "kind"), kind, "%s: labels.kind", t->name);
	is_str(label(mn, "handled_in"), e->handled_in, "%s: labels.handled_in", t->name);
	long long iters = iterations(mc);
	if (e->user_exit) {
		long long n = evidence(res, "userspace_exits", e->user_exit);
		ok(n >= iters, "%s: %lld KVM_EXIT_%s reached userspace for %lld iterations",
		   t->name, n, e->user_exit, iters);
	}
	if (e->not_user) {
		long long n = evidence(res, "userspace_exits", e->not_user);
		ok(n < iters / 2 + 1, "%s: only %lld KVM_EXIT_%s in userspace for %lld iterations",
		   t->name, n, e->not_user, iters);
	}
	if (e->stat) {
		long long n = evidence(res, "kvm_stats_vcpu0", e->stat);
		long long emu = evidence(res, "kvm_stats_vcpu0", "insn_emulation");
		ok(n >= iters || emu >= iters,
		   "%s: KVM counted %lld %s (%lld instructions emulated) for %lld iterations",
		   t->name, n, e->stat, emu, iters);
	}
	if (strcmp(kind, "mmio-user") == 0 || strcmp(kind, "pio-user") == 0) {
		json_t *r = find_metric(res, "ratio_vs_reference");
		double v = json_number_value(json_object_get(r, "value"));
		ok(r && v > 0, "%s: ratio to the bare reference loop (%.3f)", t->name, v);
		json_t *rounds = find_metric(res, "ratio_vs_reference.rounds");
		double lo = json_number_value(json_object_get(
			   find_metric(res, "ratio_vs_reference.ci95_low"), "value")),
		       hi = json_number_value(json_object_get(
			   find_metric(res, "ratio_vs_reference.ci95_high"), "value"));
		ok(json_array_size(json_object_get(rounds, "samples")) == KQ_REF_ROUNDS,
		   "%s: %d interleaved rounds, each with its ratio", t->name, KQ_REF_ROUNDS);
		ok(lo > 0 && lo <= v && v <= hi, "%s: the ratio within its interval [%.3f, %.3f]",
		   t->name, lo, hi);
		ok(find_metric(res, "reference.pio-user.ns") ||
		       find_metric(res, "reference.mmio-user.ns"),
		   "%s: the bare loop's pooled samples", t->name);
	}
	if (strcmp(kind, "ipi-halted") == 0) {
		/* vCPU 1 is the one that halts: its own counter, or emulation. */
		long long n = evidence(res, "kvm_stats_vcpu1", "halt_exits");
		long long emu = evidence(res, "kvm_stats_vcpu1", "insn_emulation");
		ok(n >= iters || emu >= iters,
		   "%s: KVM counted %lld halt_exits on vCPU 1 (%lld emulated) for %lld IPIs",
		   t->name, n, emu, iters);
	}
	if (strcmp(kind, "pause-loop") == 0) {
		json_t *r = find_metric(res, "pause-loop.exits_per_round");
		ok(r && json_number_value(json_object_get(r, "value")) >= 0,
		   "%s: vCPU 0's exits per round of the token", t->name);
	}
	if (strcmp(kind, "ioeventfd") == 0) {
		double w = json_number_value(
		    json_object_get(find_metric(res, "ioeventfd.writes"), "value"));
		double s = json_number_value(
		    json_object_get(find_metric(res, "ioeventfd.signalled"), "value"));
		ok(w > 0 && w == s, "%s: the eventfd counted every write (%.0f of %.0f)", t->name,
		   s, w);
	}
}

static void check_scaling(const struct kq_test *t, json_t *res, int cpus)
{
	int rates = 0, per_vcpu = 0;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(res, "metrics"), i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		json_t *l = json_object_get(m, "labels");
		if (strcmp(n, "exits_per_s") == 0 &&
		    json_integer_value(json_object_get(l, "vcpus")) >= 1 &&
		    json_number_value(json_object_get(m, "value")) > 0)
			rates++;
		if (json_object_get(m, "stats") && json_object_get(l, "vcpu") &&
		    json_object_get(l, "handled_in"))
			per_vcpu++;
	}
	/* Counts 1, 2, 4 ... up to the CPUs: log2 + 1, plus a last odd count. */
	int want = 0, samples = 0;
	for (int n = 1; n <= cpus && n <= 64; n = n * 2 > cpus && n < cpus ? cpus : n * 2)
		want++, samples += 2 * n;
	is_int(rates, want, "%s: exits_per_s for each vCPU count up to %d", t->name, cpus);
	is_int(per_vcpu, samples, "%s: cycles and ns samples of every vCPU of every count",
	       t->name);
}

static int allowed_cpus(void)
{
	cpu_set_t set;
	return sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
}

int main(void)
{
	suite_test_need_kvm();
	struct kq_suite s;
	if (!suite_test_load(&s))
		return done_testing();
	const char *env = kq_probe_environment();
	/* WBINVD can flush real caches on a shared host: only where the host is
	 * a VM itself (nested, emulated) unless asked for. */
	bool nodefault = strcmp(env, "bare-metal") != 0 || getenv("KVMQUAL_TEST_NODEFAULT");
	struct kq_run_opts o = {.quick = true, .repeat = 1, .out_dir = "/tmp", .environment = env};
	int cpus = allowed_cpus(), ran = 0;
	for (int i = 0; i < s.ntests; i++) {
		struct kq_test t = s.tests[i];
		bool scaling = kq_test_in_group(&t, "exits-scaling");
		if (!kq_test_in_group(&t, "exits") && !scaling &&
		    !kq_test_in_group(&t, "exits-nodefault"))
			continue;
		if (kq_test_in_group(&t, "exits-nodefault") && !nodefault) {
			printf("ok %d - %s # SKIP bare metal: set KVMQUAL_TEST_NODEFAULT=1 to run "
			       "it\n",
			       ++tap_n, t.name);
			continue;
		}
		/* Brief: warm-up, batch growth and the minimum of 8 batches. */
		t.quick_time_goal_ms = 10;
		json_t *res = kq_execute_test(&t, &o);
		const char *st = json_string_value(json_object_get(res, "status"));
		const char *why = json_string_value(json_object_get(res, "reason"));
		ran++;
		const struct expect *e = expect_for(kind_of(&t));
		if (strcmp(st, "skip") == 0) {
			printf("ok %d - %s # SKIP %s\n", ++tap_n, t.name, why);
			ok(why && strlen(why) > 10, "%s: the SKIP says why", t.name);
			if (e && e->skip_why)
				has_substr(why, e->skip_why, "%s: the SKIP names %s", t.name,
					   e->skip_why);
		} else if (strcmp(st, "fail") == 0 && why && strstr(why, "did not complete in")) {
			/* The guest's own watchdog caught an instruction the host never
			 * completes: a host defect the result reports with its evidence. */
			printf("not ok %d - %s # TODO host defect: %s\n", ++tap_n, t.name, why);
		} else {
			ok(strcmp(st, "pass") == 0, "%s passes (%s)", t.name, why ? why : "");
			if (strcmp(st, "pass") == 0) {
				if (scaling)
					check_scaling(&t, res, cpus);
				else
					check_samples(&t, res);
			}
		}
		json_decref(res);
	}
	ok(ran >= 41, "ran the %d exit tests suite.conf declares", ran);

	/* --repeat: the runner folds repeats into "<metric>.median_cv". */
	const struct kq_test *cpuid = kq_suite_find(&s, "exit.cpuid");
	if (cpuid) {
		struct kq_test t = *cpuid;
		t.quick_time_goal_ms = 10;
		json_t *runs[2] = {kq_execute_test(&t, &o), kq_execute_test(&t, &o)};
		json_t *res = kq_merge_repeats(runs, 2);
		json_t *cv = find_metric(res, "cpuid.ns.median_cv");
		ok(cv && json_number_value(json_object_get(cv, "value")) >= 0,
		   "two repeats give cpuid.ns.median_cv");
		is_str(label(cv, "kind"), "cpuid", "the CV keeps the kind label");
		char *tap = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&tap, &len);
		kq_tap_result(f, 1, res);
		fclose(f);
		has_substr(tap, "cpuid.ns.median_cv", "the TAP block shows the CV");
		free(tap);
		json_decref(res);
	}
	kq_suite_free(&s);
	return done_testing();
}
