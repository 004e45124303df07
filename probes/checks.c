/* Conformance checks: expectations of a profile against the host probes.
 * This file holds the helpers every check uses and the table of checks;
 * the checks themselves are in checks_*.c, by concern. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/fs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- verdict helpers ---------------------------------------------------- */

static void vreason(struct kq_check_out *o, const char *fmt, va_list ap)
{
	char b[512];
	vsnprintf(b, sizeof(b), fmt, ap);
	size_t n = strlen(o->reason);
	if (n && n + 2 < sizeof(o->reason)) {
		snprintf(o->reason + n, sizeof(o->reason) - n, "; %s", b);
	} else if (!n) {
		snprintf(o->reason, sizeof(o->reason), "%s", b);
	}
}

/* An expectation the host does not meet. */
void kq_ck_fail(struct kq_check_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (o->enforce) {
		if (o->status != KQ_FAIL)
			o->reason[0] = '\0';
		o->status = KQ_FAIL;
		vreason(o, fmt, ap);
	} else {
		char b[512];
		vsnprintf(b, sizeof(b), fmt, ap);
		json_array_append_new(o->notes, json_sprintf("not enforced: %s", b));
	}
	va_end(ap);
}

/* A fact that cannot be known. */
void kq_ck_unknown(struct kq_check_out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (o->unknown_fails && o->enforce) {
		if (o->status != KQ_FAIL)
			o->reason[0] = '\0';
		o->status = KQ_FAIL;
		vreason(o, fmt, ap);
	} else if (o->status == KQ_PASS || o->status == KQ_SKIP) {
		if (o->status == KQ_PASS)
			o->reason[0] = '\0';
		o->status = KQ_SKIP;
		vreason(o, fmt, ap);
	}
	va_end(ap);
}

void kq_ck_note(struct kq_check_out *o, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	json_array_append_new(o->notes, json_string(b));
}

void kq_ck_pass_reason(struct kq_check_out *o, const char *fmt, ...)
{
	if (o->status != KQ_PASS || o->reason[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

void kq_ck_evidence(struct kq_check_out *o, const char *key, json_t *v)
{
	json_object_set_new(o->evidence, key, v ? v : json_null());
}

void kq_ck_evidence_copy(struct kq_check_out *o, const char *key, json_t *v)
{
	kq_ck_evidence(o, key, v ? json_deep_copy(v) : json_null());
}

/* ---- parameter helpers ---------------------------------------------------- */

const char *kq_ck_param(kq_param_fn get, const void *ctx, const char *key, const char *def)
{
	const char *v = get ? get(ctx, key) : NULL;
	return v ? v : def;
}

bool kq_ck_param_bool(kq_param_fn get, const void *ctx, const char *key, bool def)
{
	const char *v = kq_ck_param(get, ctx, key, NULL);
	bool b;
	if (!v || kq_parse_bool(v, &b, NULL, 0) < 0)
		return def;
	return b;
}

long long kq_ck_param_int(kq_param_fn get, const void *ctx, const char *key, long long def)
{
	const char *v = kq_ck_param(get, ctx, key, NULL);
	long long x;
	if (!v || kq_parse_i64(v, &x, NULL, 0) < 0)
		return def;
	return x;
}

/* True when word is one of the space/comma separated words of list. */
bool kq_ck_in_list(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; p && *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (n == wl && !strncmp(p, word, n))
			return true;
		p += n;
	}
	return false;
}

/* Calls fn for every word of a list. */
void kq_ck_each_word(const char *list, void (*fn)(const char *w, void *arg), void *arg)
{
	char w[256];
	for (const char *p = list; p && *p;) {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (!n)
			break;
		snprintf(w, sizeof(w), "%.*s", (int)(n < 255 ? n : 255), p);
		fn(w, arg);
		p += n;
	}
}

const char *kq_ck_str_or(json_t *v, const char *def)
{
	return json_is_string(v) ? json_string_value(v) : def;
}

/* Names a JSON value for a message. */
void kq_ck_shown(json_t *v, char *b, size_t len)
{
	const char *u = kq_unknown_reason(v);
	if (u && v)
		snprintf(b, len, "unknown (%s)", u);
	else if (!v)
		snprintf(b, len, "absent");
	else if (json_is_string(v))
		snprintf(b, len, "%s", json_string_value(v));
	else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(b, len, "%s", s ? s : "?");
		free(s);
	}
}

/* ---- table --------------------------------------------------------------- */

/* The parameters every check takes, at the end of each check's own list. */
#define COMMON_PARAMS                                                                              \
	{"root", KQ_PT_STRING, "read a recorded tree instead of the live host"},                   \
	    {"enforce", KQ_PT_BOOL, "no: report unmet expectations but pass (default yes)"},       \
	{                                                                                          \
		"on_unknown", KQ_PT_STRING, "skip (default) or fail when a fact cannot be read"    \
	}

#define PROBE(name_, summary_, kvm_, params_, fn_)                                                 \
	{                                                                                          \
		.name = "probe." name_, .summary = summary_, .needs_kvm = kvm_, .params = params_, \
		.run = kq_probe_run, .data = &(const struct kq_check){fn_},                        \
	}

#define P_END                                                                                      \
	{                                                                                          \
		NULL, KQ_PT_STRING, NULL                                                           \
	}

static const struct kq_param_spec p_kvm_caps[] = {
    {"require", KQ_PT_STRING,
     "capabilities that must be present: NAME or NAME>=N, space separated"},
    {"api_version", KQ_PT_INT, "expected KVM_GET_API_VERSION (default 12)"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_kvm_cpuid[] = {
    {"require", KQ_PT_STRING, "CPUID features KVM must offer guests (pdpe1gb x2apic ...)"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_kvm_params[] = {
    {"expect", KQ_PT_STRING,
     "module.param=value[|value] items; modules not loaded are not applicable (except kvm)"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_vuln[] = {
    {"allow", KQ_PT_STRING, "vulnerability files allowed to say Vulnerable"}, COMMON_PARAMS, P_END};
static const struct kq_param_spec p_none[] = {COMMON_PARAMS, P_END};
static const struct kq_param_spec p_tsc[] = {
    {"flags", KQ_PT_STRING, "required /proc/cpuinfo flags (default: constant_tsc nonstop_tsc)"},
    {"clocksource", KQ_PT_STRING, "allowed current clocksources (default: any)"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_huge[] = {
    {"pages_2m", KQ_PT_INT, "2M hugepages required"},
    {"pages_1g", KQ_PT_INT, "1G hugepages required"},
    {"count", KQ_PT_STRING, "free (default) or total"},
    {"node", KQ_PT_INT, "NUMA node whose pool counts (default: the whole host)"},
    {"mounted", KQ_PT_BOOL, "a hugetlbfs mount must exist for each required size"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_thp[] = {
    {"enabled", KQ_PT_STRING, "allowed THP enabled modes (always madvise never)"},
    {"defrag", KQ_PT_STRING, "allowed THP defrag modes"},
    {"shmem_enabled", KQ_PT_STRING, "allowed shmem THP modes"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_smt[] = {
    {"control", KQ_PT_STRING, "allowed SMT control values (on off forceoff notsupported ...)"},
    {"active", KQ_PT_STRING, "yes, no or any (default)"},
    {"smt_vulnerable", KQ_PT_STRING,
     "fail: SMT must be inactive when a vulnerability reports SMT vulnerable"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_cpufreq[] = {
    {"governor", KQ_PT_STRING, "allowed scaling governors"},
    {"boost", KQ_PT_STRING, "on, off or any (default)"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_ksm[] = {
    {"run", KQ_PT_STRING, "allowed /sys/kernel/mm/ksm/run values (0 1 2)"}, COMMON_PARAMS, P_END};
static const struct kq_param_spec p_env[] = {
    {"allow", KQ_PT_STRING, "allowed environments: bare-metal nested emulated"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_virt[] = {
    {"require", KQ_PT_STRING,
     "hw nested_paging tagged_tlb unrestricted_guest apic_virtualization tsc_scaling pml "
     "posted_interrupts"},
    COMMON_PARAMS,
    P_END};
static const struct kq_param_spec p_kernel[] = {
    {"min_release", KQ_PT_STRING, "oldest acceptable kernel release (e.g. 5.15)"},
    {"cmdline_has", KQ_PT_STRING, "words the kernel command line must contain"},
    {"cmdline_lacks", KQ_PT_STRING, "words the kernel command line must not contain"},
    {"untainted", KQ_PT_BOOL, "the kernel must not be tainted"},
    COMMON_PARAMS,
    P_END};

static const struct kq_param_spec common[] = {COMMON_PARAMS, P_END};

/* One driver per check; each row carries its check in `data`. */
static const struct kq_driver checks[] = {
    PROBE("kvm-caps", "required KVM capabilities and API version", true, p_kvm_caps,
	  kq_check_kvm_caps),
    PROBE("kvm-cpuid", "CPUID features KVM offers guests", true, p_kvm_cpuid, kq_check_kvm_cpuid),
    PROBE("kvm-params", "kvm / kvm_intel / kvm_amd module parameters", false, p_kvm_params,
	  kq_check_kvm_params),
    PROBE("vulnerabilities", "no CPU vulnerability reported as Vulnerable", false, p_vuln,
	  kq_check_vulnerabilities),
    PROBE("itlb-multihit", "nx_huge_pages on where the CPU is affected by iTLB multihit", false,
	  p_none, kq_check_itlb),
    PROBE("tsc", "TSC constant and nonstop, clocksource", false, p_tsc, kq_check_tsc),
    PROBE("hugepages", "hugepage pools available", false, p_huge, kq_check_hugepages),
    PROBE("thp", "transparent hugepage settings", false, p_thp, kq_check_thp),
    PROBE("smt", "SMT control and state", false, p_smt, kq_check_smt),
    PROBE("cpufreq", "CPU frequency governor and boost", false, p_cpufreq, kq_check_cpufreq),
    PROBE("ksm", "kernel samepage merging state", false, p_ksm, kq_check_ksm),
    PROBE("environment", "bare metal, nested or emulated", false, p_env, kq_check_environment),
    PROBE("cpu-virt", "hardware virtualization features", false, p_virt, kq_check_cpu_virt),
    PROBE("kernel", "kernel release and command line", false, p_kernel, kq_check_kernel),
};
KQ_DRIVER_TABLE(checks)

const struct kq_driver *kq_checks(size_t *n)
{
	*n = sizeof(checks) / sizeof(checks[0]);
	return checks;
}

const struct kq_driver *kq_check_find(const char *name)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(checks[i].name, name) || !strcmp(checks[i].name + 6, name))
			return &checks[i];
	return NULL;
}

const struct kq_param_spec *kq_check_common_params(void)
{
	return common;
}

void kq_check_run(const struct kq_driver *d, kq_param_fn get, const void *ctx,
		  struct kq_check_out *out)
{
	const struct kq_check *c = d->data;
	memset(out, 0, sizeof(*out));
	out->status = KQ_PASS;
	out->evidence = json_object();
	out->notes = json_array();
	out->enforce = kq_ck_param_bool(get, ctx, "enforce", true);
	const char *ou = kq_ck_param(get, ctx, "on_unknown", "skip");
	out->unknown_fails = !strcmp(ou, "fail");
	if (strcmp(ou, "skip") && strcmp(ou, "fail")) {
		bool e = out->enforce;
		out->enforce = true;
		kq_ck_fail(out, "on_unknown = %s: expected skip or fail", ou);
		out->enforce = e;
	}
	const char *root = kq_ck_param(get, ctx, "root", "");
	if (!kq_fs_is_live(root))
		kq_ck_evidence(out, "root", json_string(root));
	c->run(root, get, ctx, out);
	if (!out->enforce && json_array_size(out->notes))
		kq_ck_evidence(out, "enforce", json_false());
}

void kq_check_out_free(struct kq_check_out *out)
{
	json_decref(out->evidence);
	json_decref(out->notes);
	out->evidence = out->notes = NULL;
}
