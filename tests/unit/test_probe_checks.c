/* The conformance checks behind the probe.* drivers, over recorded trees:
 * verdicts, reasons and evidence; and the shipped profiles. */
#include "probes/checks.h"
#include "probes/fs.h"
#include "tests/tap.h"
#include "tests/unit/test_probe_fixture.h"

#include <ini.h>

static struct kq_check_out out;

/* Runs check `name` with root=<tree> plus the given key=value parameters. */
static enum kq_status run(const char *name, const char *tree, ...)
{
	const char *kv[16];
	char root[PATH_MAX + 8];
	int n = 0;
	if (tree) {
		snprintf(root, sizeof(root), "root=%s", fixture(tree));
		kv[n++] = root;
	}
	va_list ap;
	va_start(ap, tree);
	const char *p;
	while ((p = va_arg(ap, const char *)) && n < 15)
		kv[n++] = p;
	va_end(ap);
	kv[n] = NULL;
	kq_check_out_free(&out);
	const struct kq_driver *c = kq_check_find(name);
	if (!c) {
		printf("# no check %s\n", name);
		return KQ_FAIL;
	}
	kq_check_run(c, kv_get, kv, &out);
	return out.status;
}

static json_t *ev(const char *key)
{
	return json_object_get(out.evidence, key);
}

#define VERDICT(st, want, ...)                                                                     \
	do {                                                                                       \
		enum kq_status s_ = (st);                                                          \
		if (!ok(s_ == (want), __VA_ARGS__))                                                \
			printf("#   got %s (%s), want %s\n", kq_status_name(s_), out.reason,       \
			       kq_status_name(want));                                              \
	} while (0)

static const char *kq_status_name_local(enum kq_status s)
{
	return s == KQ_PASS ? "PASS" : s == KQ_FAIL ? "FAIL" : "SKIP";
}
#define kq_status_name kq_status_name_local

static void kvm_caps(void)
{
	VERDICT(run("kvm-caps", "intel-kvm-host",
		    "require=IMMEDIATE_EXIT GET_TSC_KHZ TSC_CONTROL MAX_VCPUS>=512", NULL),
		KQ_PASS, "kvm-caps: intel has them");
	is_str(out.reason, "all 4 required capabilities present", "kvm-caps: pass reason");
	is_int(json_integer_value(json_object_get(ev("required"), "MAX_VCPUS")), 1024,
	       "kvm-caps: evidence has the values");
	is_int(json_integer_value(ev("api_version")), 12, "kvm-caps: evidence API version");
	is_str(json_string_value(ev("vendor_module")), "kvm_intel", "kvm-caps: vendor module");

	VERDICT(run("kvm-caps", "amd-pvm-host", "require=IMMEDIATE_EXIT TSC_CONTROL", NULL),
		KQ_FAIL, "kvm-caps: amd lacks TSC_CONTROL");
	is_str(out.reason, "missing KVM capability TSC_CONTROL (KVM_CAP_TSC_CONTROL)",
	       "kvm-caps: missing capability named");
	is_str(json_string_value(json_array_get(ev("missing"), 0)), "TSC_CONTROL",
	       "kvm-caps: evidence lists it");
	VERDICT(run("kvm-caps", "amd-pvm-host", "require=MAX_VCPUS>=2048", NULL), KQ_FAIL,
		"kvm-caps: too few vCPUs");
	is_str(out.reason, "KVM capability MAX_VCPUS (KVM_CAP_MAX_VCPUS) is 1024, need >= 2048",
	       "kvm-caps: value and bound named");
	VERDICT(run("kvm-caps", "amd-pvm-host", "require=FROB", NULL), KQ_FAIL,
		"kvm-caps: unknown name");
	is_str(out.reason, "unknown capability FROB", "kvm-caps: unknown named");
	VERDICT(run("kvm-caps", "amd-pvm-host", "require=MAX_VCPUS>=x", NULL), KQ_FAIL,
		"kvm-caps: bad bound");
	VERDICT(run("kvm-caps", "amd-pvm-host", "require=TSC_CONTROL", "enforce=no", NULL), KQ_PASS,
		"kvm-caps: not enforced passes");
	has_substr(json_string_value(json_array_get(out.notes, 0)),
		   "not enforced: missing KVM capability TSC_CONTROL", "kvm-caps: note kept");
	ok(json_is_false(ev("enforce")), "kvm-caps: evidence says not enforced");
	VERDICT(run("kvm-caps", "amd-pvm-host", "api_version=13", NULL), KQ_FAIL,
		"kvm-caps: API version checked");
	VERDICT(run("kvm-caps", "broken", "require=USER_MEMORY", NULL), KQ_SKIP,
		"kvm-caps: no KVM is SKIP");
	has_substr(out.reason, "KVM not available: kvmqual/kvm.json: ", "kvm-caps: says why");
	VERDICT(run("kvm-caps", "broken", "require=USER_MEMORY", "on_unknown=fail", NULL), KQ_FAIL,
		"kvm-caps: no KVM is FAIL when the profile demands it");
	VERDICT(run("kvm-caps", "broken", "on_unknown=sometimes", NULL), KQ_FAIL,
		"bad on_unknown value fails");
	has_substr(out.reason, "on_unknown = sometimes: expected skip or fail", "named");
}

static void kvm_cpuid_params(void)
{
	VERDICT(run("kvm-cpuid", "intel-kvm-host", "require=pdpe1gb x2apic invariant_tsc", NULL),
		KQ_PASS, "kvm-cpuid: intel offers 1G pages");
	ok(json_is_true(json_object_get(ev("required"), "pdpe1gb")), "kvm-cpuid: evidence");
	VERDICT(run("kvm-cpuid", "amd-pvm-host", "require=lm pdpe1gb", NULL), KQ_FAIL,
		"kvm-cpuid: the recorded PVM host offers no 1G pages");
	is_str(out.reason, "KVM_GET_SUPPORTED_CPUID does not offer pdpe1gb", "kvm-cpuid: reason");
	VERDICT(run("kvm-cpuid", "intel-kvm-host", "require=warp_drive", NULL), KQ_FAIL,
		"kvm-cpuid: unknown feature name");

	VERDICT(run("kvm-params", "intel-kvm-host",
		    "expect=kvm.tdp_mmu=Y kvm_intel.ept=1 kvm_amd.npt=1", NULL),
		KQ_PASS, "kvm-params: booleans by meaning, other vendor not applicable");
	is_str(json_string_value(json_object_get(ev("parameters"), "kvm_amd.npt")),
	       "(module not loaded)", "kvm-params: N/A recorded");
	VERDICT(run("kvm-params", "intel-kvm-host", "expect=kvm.nx_huge_pages=Y|force", NULL),
		KQ_FAIL, "kvm-params: nx_huge_pages off");
	is_str(out.reason, "kvm.nx_huge_pages is N, expected Y|force", "kvm-params: reason");
	VERDICT(
	    run("kvm-params", "emulated-svm-host", "expect=kvm_amd.npt=1 kvm_amd.nrips=Y", NULL),
	    KQ_FAIL, "kvm-params: emulated host has nrips=0");
	is_str(out.reason, "kvm_amd.nrips is 0, expected Y", "kvm-params: integer-style boolean");
	VERDICT(run("kvm-params", "amd-pvm-host", "expect=kvm_intel.ept=Y", NULL), KQ_SKIP,
		"kvm-params: no named module loaded");
	VERDICT(run("kvm-params", "broken", "expect=kvm.tdp_mmu=Y", NULL), KQ_SKIP,
		"kvm-params: unreadable parameters");
	is_str(out.reason, "kvm.tdp_mmu: /sys/module/kvm/parameters: No such file or directory",
	       "kvm-params: reason");
	VERDICT(run("kvm-params", "broken", "expect=kvm_intel.vpid=Y", NULL), KQ_SKIP,
		"kvm-params: parameter file unreadable");
	has_substr(out.reason, "is a directory", "kvm-params: reason from the file");
	VERDICT(run("kvm-params", "broken", "expect=garbage", NULL), KQ_FAIL,
		"kvm-params: malformed expectation");
}

static void vulnerabilities(void)
{
	VERDICT(run("vulnerabilities", "intel-kvm-host", NULL), KQ_FAIL,
		"vulnerabilities: intel has Vulnerable entries");
	has_substr(out.reason, "mmio_stale_data: Vulnerable: Clear CPU buffers attempted",
		   "vulnerabilities: file and text named");
	has_substr(out.reason, "itlb_multihit: KVM: Vulnerable", "vulnerabilities: both named");
	is_int(json_object_size(ev("vulnerable")), 2, "vulnerabilities: evidence");
	is_int(json_integer_value(ev("mitigated")), 6, "vulnerabilities: 6 mitigated");
	is_int(json_integer_value(ev("not_affected")), 5, "vulnerabilities: 5 not affected");
	VERDICT(
	    run("vulnerabilities", "intel-kvm-host", "allow=mmio_stale_data itlb_multihit", NULL),
	    KQ_PASS, "vulnerabilities: allowed ones pass");
	is_int(json_array_size(out.notes), 2, "vulnerabilities: allowed ones noted");
	VERDICT(run("vulnerabilities", "amd-pvm-host", "enforce=no", NULL), KQ_PASS,
		"vulnerabilities: informative");
	is_int(json_object_size(ev("vulnerable")), 2, "vulnerabilities: still in evidence");
	VERDICT(run("vulnerabilities", "broken", "allow=itlb_multihit", NULL), KQ_SKIP,
		"vulnerabilities: unreadable files are SKIP");
	has_substr(out.reason, "l1tf: /sys/devices/system/cpu/vulnerabilities/l1tf: is a directory",
		   "vulnerabilities: unreadable named");
	has_substr(json_string_value(json_array_get(out.notes, 0)), "tsx_async_abort: Unknown",
		   "vulnerabilities: the kernel's Unknown is a note");
	VERDICT(run("vulnerabilities", "broken", NULL), KQ_FAIL,
		"vulnerabilities: Vulnerable wins over unreadable");
	VERDICT(run("vulnerabilities", "broken", "allow=itlb_multihit", "on_unknown=fail", NULL),
		KQ_FAIL, "vulnerabilities: unknown fails when demanded");
	VERDICT(run("vulnerabilities", "nonexistent", NULL), KQ_SKIP,
		"vulnerabilities: no folder is SKIP");
	has_substr(out.reason, "CPU vulnerabilities unknown", "vulnerabilities: reason");
}

static void itlb_tsc(void)
{
	VERDICT(run("itlb-multihit", "intel-kvm-host", NULL), KQ_FAIL,
		"itlb-multihit: affected, nx_huge_pages=N");
	is_str(out.reason,
	       "CPU affected by iTLB multihit and kvm.nx_huge_pages=N (KVM: Vulnerable)",
	       "itlb-multihit: reason");
	is_str(json_string_value(ev("nx_huge_pages")), "N", "itlb-multihit: evidence");
	VERDICT(run("itlb-multihit", "amd-pvm-host", NULL), KQ_PASS, "itlb-multihit: not affected");
	is_str(out.reason, "CPU not affected by iTLB multihit", "itlb-multihit: pass reason");
	VERDICT(run("itlb-multihit", "broken", NULL), KQ_SKIP,
		"itlb-multihit: kvm parameters unreadable");
	has_substr(out.reason, "kvm.nx_huge_pages unknown", "itlb-multihit: reason");
	VERDICT(run("itlb-multihit", "nonexistent", NULL), KQ_SKIP, "itlb-multihit: no file");

	VERDICT(run("tsc", "intel-kvm-host", NULL), KQ_PASS, "tsc: constant and nonstop");
	ok(json_is_true(json_object_get(ev("flags"), "nonstop_tsc")), "tsc: evidence flags");
	ok(json_is_true(ev("cpuid_invariant_tsc")), "tsc: CPUID invariant TSC");
	VERDICT(run("tsc", "intel-kvm-host", "clocksource=kvm-clock", NULL), KQ_FAIL,
		"tsc: clocksource expectation");
	is_str(out.reason, "clocksource is tsc, expected kvm-clock", "tsc: reason");
	VERDICT(run("tsc", "intel-kvm-host", "flags=tsc_known_freq", NULL), KQ_FAIL,
		"tsc: other flags");
	is_str(out.reason, "/proc/cpuinfo flags lacks tsc_known_freq", "tsc: flag named");
	VERDICT(run("tsc", "amd-pvm-host", NULL), KQ_PASS, "tsc: recorded AMD host");
	VERDICT(run("tsc", "broken", NULL), KQ_SKIP, "tsc: no flags line");
	has_substr(out.reason, "CPU flags unknown", "tsc: reason");
}

static void memory(void)
{
	VERDICT(
	    run("hugepages", "intel-kvm-host", "pages_2m=1000", "pages_1g=4", "mounted=yes", NULL),
	    KQ_PASS, "hugepages: pools and mounts present");
	VERDICT(run("hugepages", "intel-kvm-host", "pages_2m=1001", NULL), KQ_FAIL,
		"hugepages: one short");
	is_str(out.reason, "host: 1000 free 2M hugepages, need 1001", "hugepages: reason");
	VERDICT(run("hugepages", "intel-kvm-host", "pages_2m=1024", "count=total", NULL), KQ_PASS,
		"hugepages: total counted");
	VERDICT(run("hugepages", "intel-kvm-host", "pages_2m=500", "node=0", NULL), KQ_FAIL,
		"hugepages: per node");
	is_str(out.reason, "NUMA node 0: 488 free 2M hugepages, need 500", "hugepages: node named");
	VERDICT(run("hugepages", "intel-kvm-host", "pages_2m=500", "node=1", NULL), KQ_PASS,
		"hugepages: node 1 has them");
	VERDICT(run("hugepages", "intel-kvm-host", "pages_2m=1", "node=5", NULL), KQ_FAIL,
		"hugepages: no such node");
	VERDICT(run("hugepages", "amd-pvm-host", "pages_1g=1", NULL), KQ_FAIL,
		"hugepages: none reserved");
	is_str(out.reason, "host: 0 free 1G hugepages, need 1", "hugepages: reason");
	VERDICT(run("hugepages", "amd-pvm-host", "pages_2m=0", "mounted=yes", NULL), KQ_PASS,
		"hugepages: nothing required");
	VERDICT(run("hugepages", "broken", "pages_2m=1", NULL), KQ_SKIP,
		"hugepages: unreadable count");
	has_substr(out.reason, "2M pool free count: unknown", "hugepages: reason");
	VERDICT(run("hugepages", "broken", "pages_1g=1", NULL), KQ_FAIL, "hugepages: no 1G pool");
	is_str(out.reason, "host: no 1G hugepage pool (kernel or CPU without 1G pages)",
	       "hugepages: reason");
	VERDICT(run("hugepages", "nonexistent", "pages_2m=1", NULL), KQ_SKIP,
		"hugepages: no sysfs");
	VERDICT(run("hugepages", "intel-kvm-host", "count=some", NULL), KQ_FAIL,
		"hugepages: bad count");

	VERDICT(run("thp", "intel-kvm-host", "enabled=madvise never", NULL), KQ_FAIL,
		"thp: always not allowed");
	is_str(out.reason, "THP enabled is always, expected madvise never", "thp: reason");
	VERDICT(run("thp", "amd-pvm-host", "enabled=madvise", "defrag=madvise", NULL), KQ_PASS,
		"thp: madvise");
	is_str(json_string_value(ev("enabled")), "madvise", "thp: evidence");
	VERDICT(run("thp", "broken", "enabled=always", NULL), KQ_SKIP, "thp: unreadable");
	VERDICT(run("thp", "broken", NULL), KQ_PASS, "thp: no expectation, nothing to judge");

	VERDICT(run("ksm", "intel-kvm-host", "run=0", NULL), KQ_FAIL, "ksm: running");
	is_str(out.reason, "KSM run is 1, expected 0", "ksm: reason");
	VERDICT(run("ksm", "amd-pvm-host", "run=0", NULL), KQ_PASS, "ksm: off");
	VERDICT(run("ksm", "broken", "run=0", NULL), KQ_SKIP, "ksm: unreadable");
}

static void cpu_host(void)
{
	VERDICT(run("smt", "intel-kvm-host", "smt_vulnerable=fail", NULL), KQ_FAIL,
		"smt: active while SMT vulnerable");
	is_str(out.reason, "SMT active while 1 vulnerabilities report SMT vulnerable",
	       "smt: reason");
	is_str(json_string_value(json_array_get(ev("smt_vulnerable"), 0)), "mmio_stale_data",
	       "smt: evidence");
	VERDICT(run("smt", "intel-kvm-host", "control=off forceoff", NULL), KQ_FAIL,
		"smt: control expectation");
	VERDICT(run("smt", "amd-pvm-host", "active=no", "smt_vulnerable=fail", NULL), KQ_PASS,
		"smt: inactive");
	VERDICT(run("smt", "broken", "active=yes", NULL), KQ_SKIP, "smt: active unreadable");
	VERDICT(run("smt", "broken", "smt_vulnerable=fail", NULL), KQ_SKIP,
		"smt: vulnerability files unreadable");
	is_str(out.reason,
	       "cannot tell whether SMT is vulnerable: 5 vulnerability files unreadable",
	       "smt: reason");

	VERDICT(run("cpufreq", "intel-kvm-host", "governor=performance", NULL), KQ_FAIL,
		"cpufreq: powersave policies");
	is_str(out.reason, "2 CPU policies use governor powersave, expected performance",
	       "cpufreq: reason");
	VERDICT(
	    run("cpufreq", "intel-kvm-host", "governor=performance powersave", "boost=on", NULL),
	    KQ_PASS, "cpufreq: governors and boost");
	VERDICT(run("cpufreq", "intel-kvm-host", "boost=off", NULL), KQ_FAIL, "cpufreq: boost on");
	VERDICT(run("cpufreq", "amd-pvm-host", NULL), KQ_SKIP, "cpufreq: no driver");
	has_substr(out.reason, "no cpufreq policies", "cpufreq: reason");
	VERDICT(run("cpufreq", "broken", "governor=performance", NULL), KQ_SKIP,
		"cpufreq: governor unreadable");
	is_str(out.reason, "1 CPU policies with an unreadable governor", "cpufreq: reason");

	VERDICT(run("environment", "intel-kvm-host", "allow=bare-metal", NULL), KQ_PASS,
		"environment: bare metal");
	VERDICT(run("environment", "amd-pvm-host", "allow=bare-metal", NULL), KQ_FAIL,
		"environment: nested");
	is_str(out.reason, "environment is nested, expected bare-metal", "environment: reason");
	is_str(json_string_value(json_object_get(ev("hypervisor"), "vendor")), "KVM",
	       "environment: hypervisor evidence");
	VERDICT(run("environment", "broken", NULL), KQ_SKIP, "environment: unknown");

	VERDICT(run("cpu-virt", "intel-kvm-host",
		    "require=hw nested_paging tagged_tlb unrestricted_guest apic_virtualization",
		    NULL),
		KQ_PASS, "cpu-virt: intel");
	VERDICT(run("cpu-virt", "amd-pvm-host", "require=hw nested_paging", NULL), KQ_FAIL,
		"cpu-virt: no VMX/SVM visible");
	is_str(out.reason,
	       "no hardware virtualization (VMX/SVM) visible to this kernel; required: hw "
	       "nested_paging",
	       "cpu-virt: reason");
	is_str(json_string_value(ev("kvm_vendor_module")), "kvm_pvm", "cpu-virt: KVM evidence");
	VERDICT(run("cpu-virt", "intel-kvm-host", "require=teleport", NULL), KQ_FAIL,
		"cpu-virt: unknown feature");

	VERDICT(run("kernel", "intel-kvm-host", "min_release=5.15", "cmdline_has=intel_iommu=on",
		    "untainted=yes", NULL),
		KQ_PASS, "kernel: new enough");
	VERDICT(run("kernel", "intel-kvm-host", "min_release=6.6", NULL), KQ_FAIL, "kernel: old");
	is_str(out.reason, "kernel 6.1.0-18-amd64 older than 6.6", "kernel: reason");
	VERDICT(run("kernel", "intel-kvm-host", "min_release=6.1.0", NULL), KQ_PASS,
		"kernel: equal release");
	VERDICT(run("kernel", "intel-kvm-host", "cmdline_lacks=quiet", NULL), KQ_FAIL,
		"kernel: forbidden word");
	is_str(out.reason, "kernel command line has quiet", "kernel: reason");
	VERDICT(run("kernel", "broken", "min_release=5.0", "untainted=yes", NULL), KQ_SKIP,
		"kernel: unreadable");
}

static void live_all(void)
{
	size_t n;
	const struct kq_driver *c = kq_checks(&n);
	ok(n >= 14, "%zu checks", n);
	for (size_t i = 0; i < n; i++) {
		enum kq_status st = run(c[i].name, NULL, NULL);
		ok(st == KQ_PASS || st == KQ_SKIP || st == KQ_FAIL, "live %s: %s (%s)", c[i].name,
		   kq_status_name(st), out.reason);
		ok(out.reason[0] != '\0', "live %s gives a reason", c[i].name);
	}
	setenv("KVMQUAL_KVM_DEV", "/nonexistent/kvm", 1);
	VERDICT(run("kvm-caps", NULL, "require=USER_MEMORY", NULL), KQ_SKIP, "live, no KVM: SKIP");
	is_str(out.reason, "KVM not available: /nonexistent/kvm: No such file or directory",
	       "live, no KVM: reason");
	unsetenv("KVMQUAL_KVM_DEV");
	ok(kq_check_find("probe.kvm-caps") == kq_check_find("kvm-caps"), "probe. prefix accepted");
	ok(kq_check_find("nope") == NULL, "unknown check");
}

/* ---- profiles ---------------------------------------------------------- */

struct prof {
	const char *file;
	char section[64];
	const struct kq_driver *check;
	const char *kv[40];
	char store[40][300];
	int nkv;
	int sections, errors;
	int results[3];
	const char *tree;
	char failed[1024];
};

static const char *const generic[] = {"workload",   "groups",	"default", "description",
				      "time_limit", "requires", NULL};

static const struct kq_param_spec *spec_of(const struct kq_driver *c, const char *key)
{
	for (const struct kq_param_spec *p = c->params; p && p->key; p++)
		if (!strcmp(p->key, key))
			return p;
	for (const struct kq_param_spec *p = kq_check_common_params(); p->key; p++)
		if (!strcmp(p->key, key))
			return p;
	return NULL;
}

static void finish_section(struct prof *p)
{
	if (!p->section[0])
		return;
	if (!p->check) {
		printf("# %s [%s]: no probe workload\n", p->file, p->section);
		p->errors++;
	} else if (p->tree) {
		char root[PATH_MAX + 8];
		snprintf(root, sizeof(root), "root=%s", fixture(p->tree));
		p->kv[p->nkv] = root;
		p->kv[p->nkv + 1] = NULL;
		kq_check_out_free(&out);
		kq_check_run(p->check, kv_get, p->kv, &out);
		p->results[out.status]++;
		if (getenv("KQ_DEBUG"))
			printf("# %s on %s: %s (%s)\n", p->section, p->tree,
			       kq_status_name(out.status), out.reason);
		if (out.status == KQ_FAIL) {
			size_t l = strlen(p->failed);
			snprintf(p->failed + l, sizeof(p->failed) - l, "%s%s", l ? " " : "",
				 p->section);
		}
	}
	p->section[0] = '\0';
	p->check = NULL;
	p->nkv = 0;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
	struct prof *p = user;
	if (strcmp(section, p->section)) {
		finish_section(p);
		snprintf(p->section, sizeof(p->section), "%s", section);
		p->sections++;
	}
	for (int i = 0; generic[i]; i++)
		if (!strcmp(key, generic[i])) {
			if (!strcmp(key, "workload")) {
				p->check = kq_check_find(value);
				if (strncmp(value, "probe.", 6))
					p->check = NULL;
			}
			if (!strcmp(key, "groups") && !strstr(value, "probes")) {
				printf("# %s [%s]: not in group probes\n", p->file, section);
				p->errors++;
			}
			return 1;
		}
	if (!p->check) {
		printf("# %s [%s]: key %s before workload\n", p->file, section, key);
		p->errors++;
		return 1;
	}
	const struct kq_param_spec *sp = spec_of(p->check, key);
	if (!sp) {
		printf("# %s [%s]: %s is not a parameter of %s\n", p->file, section, key,
		       p->check->name);
		p->errors++;
		return 1;
	}
	long long x;
	bool b;
	if ((sp->type == KQ_PT_INT && kq_parse_i64(value, &x, NULL, 0) < 0) ||
	    (sp->type == KQ_PT_BOOL && kq_parse_bool(value, &b, NULL, 0) < 0) ||
	    strlen(value) > 255) {
		printf("# %s [%s]: %s = %s: bad value\n", p->file, section, key, value);
		p->errors++;
	}
	if (p->nkv < 38) {
		snprintf(p->store[p->nkv], sizeof(p->store[0]), "%s=%s", key, value);
		p->kv[p->nkv] = p->store[p->nkv];
		p->nkv++;
	}
	return 1;
}

static struct prof *profile(const char *name, const char *tree)
{
	static struct prof p;
	char path[PATH_MAX];
	memset(&p, 0, sizeof(p));
	p.file = name;
	p.tree = tree;
	snprintf(path, sizeof(path), "%s/../../../profiles/%s", fixture(""), name);
	int rc = ini_parse(path, on_key, &p);
	finish_section(&p);
	if (rc != 0)
		printf("# %s: ini_parse %d\n", path, rc);
	p.errors += rc != 0;
	return &p;
}

static void profiles(void)
{
	struct prof *p = profile("default.conf", NULL);
	is_int(p->errors, 0, "default profile: every key is a declared parameter");
	is_int(p->sections, 13, "default profile: 13 checks");
	p = profile("strict.conf", NULL);
	is_int(p->errors, 0, "strict profile: every key is a declared parameter");
	is_int(p->sections, 15, "strict profile: 15 checks");

	p = profile("default.conf", "amd-pvm-host");
	is_int(p->results[KQ_FAIL], 0, "default profile passes the recorded build host (%s)",
	       p->failed);
	p = profile("default.conf", "emulated-svm-host");
	is_int(p->results[KQ_FAIL], 0, "default profile passes the recorded emulated host (%s)",
	       p->failed);
	p = profile("strict.conf", "emulated-svm-host");
	is_str(p->failed,
	       "strict.environment strict.kvm-caps strict.kvm-cpuid strict.kvm-params "
	       "strict.cpu-virt strict.tsc strict.hugepages strict.cpufreq",
	       "strict profile on the emulated host: what emulation lacks fails");
	p = profile("default.conf", "intel-kvm-host");
	is_str(p->failed, "probe.itlb-multihit",
	       "default profile on the Intel fixture: only the "
	       "iTLB multihit misconfiguration fails");
	p = profile("default.conf", "broken");
	is_int(p->results[KQ_FAIL], 0, "default profile: the broken tree only skips (%s)",
	       p->failed);
	p = profile("strict.conf", "intel-kvm-host");
	is_str(p->failed,
	       "strict.vulnerabilities strict.itlb-multihit strict.smt strict.hugepages "
	       "strict.ksm strict.cpufreq",
	       "strict profile on the Intel fixture: the misconfigurations fail");
	p = profile("strict.conf", "broken");
	is_int(p->results[KQ_PASS] + p->results[KQ_SKIP], 0,
	       "strict profile: an unreadable tree fails everything (%d pass, %d skip)",
	       p->results[KQ_PASS], p->results[KQ_SKIP]);
}

int main(void)
{
	kvm_caps();
	kvm_cpuid_params();
	vulnerabilities();
	itlb_tsc();
	memory();
	cpu_host();
	live_all();
	profiles();
	kq_check_out_free(&out);
	return done_testing();
}
