/* Conformance checks: expectations of a profile against the host probes. */
#include "probes/checks.h"
#include "probes/cpuid.h"
#include "probes/fs.h"
#include "probes/kvm_caps.h"
#include "probes/probe.h"

#include <ctype.h>
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
static void fail(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void fail(struct kq_check_out *o, const char *fmt, ...)
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
static void unknown(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void unknown(struct kq_check_out *o, const char *fmt, ...)
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

static void note(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct kq_check_out *o, const char *fmt, ...)
{
	char b[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	json_array_append_new(o->notes, json_string(b));
}

static void pass_reason(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void pass_reason(struct kq_check_out *o, const char *fmt, ...)
{
	if (o->status != KQ_PASS || o->reason[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(o->reason, sizeof(o->reason), fmt, ap);
	va_end(ap);
}

static void evidence(struct kq_check_out *o, const char *key, json_t *v)
{
	json_object_set_new(o->evidence, key, v ? v : json_null());
}

static void evidence_copy(struct kq_check_out *o, const char *key, json_t *v)
{
	evidence(o, key, v ? json_deep_copy(v) : json_null());
}

/* ---- parameter helpers ---------------------------------------------------- */

static const char *param(kq_param_fn get, const void *ctx, const char *key, const char *def)
{
	const char *v = get ? get(ctx, key) : NULL;
	return v ? v : def;
}

static bool param_bool(kq_param_fn get, const void *ctx, const char *key, bool def)
{
	const char *v = param(get, ctx, key, NULL);
	bool b;
	if (!v || kq_parse_bool(v, &b, NULL, 0) < 0)
		return def;
	return b;
}

static long long param_int(kq_param_fn get, const void *ctx, const char *key, long long def)
{
	const char *v = param(get, ctx, key, NULL);
	long long x;
	if (!v || kq_parse_i64(v, &x, NULL, 0) < 0)
		return def;
	return x;
}

/* True when word is one of the space/comma separated words of list. */
static bool in_list(const char *list, const char *word)
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
static void each_word(const char *list, void (*fn)(const char *w, void *arg), void *arg)
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

static const char *str_or(json_t *v, const char *def)
{
	return json_is_string(v) ? json_string_value(v) : def;
}

/* Names a JSON value for a message. */
static void shown(json_t *v, char *b, size_t len)
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

/* ---- probe.kvm-caps ---------------------------------------------------- */

struct caps_ctx {
	struct kq_check_out *o;
	json_t *caps, *shown, *missing;
};

static void caps_one(const char *item, void *arg)
{
	struct caps_ctx *c = arg;
	char name[128];
	long long min = 1;
	const char *ge = strstr(item, ">=");
	snprintf(name, sizeof(name), "%.*s", (int)(ge ? (size_t)(ge - item) : strlen(item)), item);
	if (ge && kq_parse_i64(ge + 2, &min, NULL, 0) < 0) {
		fail(c->o, "bad requirement '%s' (NAME or NAME>=N)", item);
		return;
	}
	const struct kq_kvm_cap *cap = kq_kvm_cap_by_name(name);
	if (!cap) {
		fail(c->o, "unknown capability %s", name);
		return;
	}
	json_t *v = json_object_get(c->caps, cap->name);
	if (!json_is_integer(v)) {
		char b[256];
		shown(v, b, sizeof(b));
		json_object_set_new(c->shown, cap->name, v ? json_deep_copy(v) : json_null());
		unknown(c->o, "%s (%s): %s", cap->name, cap->kernel, b);
		return;
	}
	long long val = json_integer_value(v);
	json_object_set_new(c->shown, cap->name, json_integer(val));
	if (val < min) {
		json_array_append_new(c->missing, json_string(cap->name));
		if (val == 0)
			fail(c->o, "missing KVM capability %s (%s)", cap->name, cap->kernel);
		else
			fail(c->o, "KVM capability %s (%s) is %lld, need >= %lld", cap->name,
			     cap->kernel, val, min);
	}
}

/* Returns the kvm section when /dev/kvm answered, else records SKIP. */
static json_t *kvm_or_skip(const char *root, struct kq_check_out *o)
{
	json_t *kvm = kq_probe_kvm(root);
	if (!json_is_true(json_object_get(kvm, "available"))) {
		evidence_copy(o, "device", json_object_get(kvm, "device"));
		unknown(o, "KVM not available: %s",
			str_or(json_object_get(kvm, "unknown"), "no /dev/kvm"));
		json_decref(kvm);
		return NULL;
	}
	return kvm;
}

static void run_kvm_caps(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *kvm = kvm_or_skip(root, o);
	if (!kvm)
		return;
	long long want_api = param_int(get, ctx, "api_version", 12);
	json_t *api = json_object_get(kvm, "api_version");
	evidence_copy(o, "api_version", api);
	evidence_copy(o, "vendor_module", json_object_get(kvm, "vendor_module"));
	if (!json_is_integer(api))
		unknown(o, "KVM API version unknown");
	else if (json_integer_value(api) != want_api)
		fail(o, "KVM API version %lld, expected %lld", (long long)json_integer_value(api),
		     want_api);
	struct caps_ctx c = {o, json_object_get(kvm, "capabilities"), json_object(), json_array()};
	const char *req = param(get, ctx, "require", "");
	each_word(req, caps_one, &c);
	evidence(o, "required", c.shown);
	evidence(o, "missing", c.missing);
	pass_reason(o, "all %zu required capabilities present", json_object_size(c.shown));
	json_decref(kvm);
}

/* ---- probe.kvm-cpuid ------------------------------------------------------ */

struct cpuid_ctx {
	struct kq_check_out *o;
	struct kq_cpuid *c;
	json_t *shown;
};

static void cpuid_one(const char *name, void *arg)
{
	struct cpuid_ctx *c = arg;
	int has = kq_cpuid_has(c->c, name);
	if (has < 0) {
		fail(c->o, "unknown CPUID feature name %s", name);
		return;
	}
	json_object_set_new(c->shown, name, json_boolean(has));
	if (!has)
		fail(c->o, "KVM_GET_SUPPORTED_CPUID does not offer %s", name);
}

static void run_kvm_cpuid(const char *root, kq_param_fn get, const void *ctx,
			  struct kq_check_out *o)
{
	json_t *kvm = kvm_or_skip(root, o);
	if (!kvm)
		return;
	json_t *sc = json_object_get(kvm, "supported_cpuid");
	json_t *leaves = json_object_get(sc, "leaves");
	if (!json_is_array(leaves)) {
		char b[256];
		shown(sc, b, sizeof(b));
		unknown(o, "supported CPUID: %s", b);
		json_decref(kvm);
		return;
	}
	struct kq_cpuid t = {0};
	size_t i;
	json_t *l;
	json_array_foreach(leaves, i, l)
	{
		char line[160];
		snprintf(line, sizeof(line), "%s\n", str_or(l, ""));
		kq_cpuid_parse(&t, line, NULL, 0);
	}
	evidence_copy(o, "entries", json_object_get(sc, "entries"));
	struct cpuid_ctx c = {o, &t, json_object()};
	each_word(param(get, ctx, "require", ""), cpuid_one, &c);
	evidence(o, "required", c.shown);
	evidence(o, "offered", kq_cpuid_features(&t));
	pass_reason(o, "KVM offers all %zu required CPUID features", json_object_size(c.shown));
	kq_cpuid_free(&t);
	json_decref(kvm);
}

/* ---- probe.kvm-params ----------------------------------------------------- */

struct params_ctx {
	struct kq_check_out *o;
	json_t *mods, *shown;
	int applicable;
};

/* Compares module parameter text with an expected value; booleans by meaning. */
static bool param_matches(const char *have, const char *want)
{
	bool a, b;
	if (kq_parse_bool(have, &a, NULL, 0) == 0 && kq_parse_bool(want, &b, NULL, 0) == 0)
		return a == b;
	return strcmp(have, want) == 0;
}

static void params_one(const char *item, void *arg)
{
	struct params_ctx *c = arg;
	char mod[64], par[128], want[128];
	if (sscanf(item, "%63[^.].%127[^=]=%127s", mod, par, want) != 3) {
		fail(c->o, "bad expectation '%s' (module.param=value[|value...])", item);
		return;
	}
	json_t *m = json_object_get(c->mods, mod);
	char key[256];
	snprintf(key, sizeof(key), "%s.%s", mod, par);
	if (!json_is_true(json_object_get(m, "loaded"))) {
		json_object_set_new(c->shown, key, json_string("(module not loaded)"));
		if (!strcmp(mod, "kvm"))
			unknown(c->o, "module kvm not loaded");
		return; /* the other vendor's module: not applicable */
	}
	c->applicable++;
	json_t *params = json_object_get(m, "parameters");
	if (kq_unknown_reason(params)) {
		json_object_set_new(c->shown, key, json_deep_copy(params));
		unknown(c->o, "%s: %s", key, kq_unknown_reason(params));
		return;
	}
	json_t *v = json_object_get(params, par);
	if (!json_is_string(v)) {
		char b[256];
		shown(v, b, sizeof(b));
		json_object_set_new(c->shown, key, v ? json_deep_copy(v) : json_null());
		unknown(c->o, "%s: %s", key, b);
		return;
	}
	const char *have = json_string_value(v);
	json_object_set_new(c->shown, key, json_string(have));
	char alts[128];
	snprintf(alts, sizeof(alts), "%s", want);
	for (char *save = NULL, *a = strtok_r(alts, "|", &save); a; a = strtok_r(NULL, "|", &save))
		if (param_matches(have, a))
			return;
	fail(c->o, "%s is %s, expected %s", key, have, want);
}

static void run_kvm_params(const char *root, kq_param_fn get, const void *ctx,
			   struct kq_check_out *o)
{
	json_t *kvm = kq_probe_kvm(root);
	struct params_ctx c = {o, json_object_get(kvm, "modules"), json_object(), 0};
	evidence_copy(o, "vendor_module", json_object_get(kvm, "vendor_module"));
	const char *exp = param(get, ctx, "expect", "");
	each_word(exp, params_one, &c);
	evidence(o, "parameters", c.shown);
	if (*exp && !c.applicable)
		unknown(o, "none of the modules named in expect is loaded");
	pass_reason(o, "%d module parameters as expected", c.applicable);
	json_decref(kvm);
}

/* ---- probe.vulnerabilities ------------------------------------------------ */

static void run_vulnerabilities(const char *root, kq_param_fn get, const void *ctx,
				struct kq_check_out *o)
{
	json_t *v = kq_probe_vulnerabilities(root);
	const char *u = kq_unknown_reason(v);
	if (u) {
		evidence(o, "vulnerabilities", v);
		unknown(o, "CPU vulnerabilities unknown: %s", u);
		return;
	}
	const char *allow = param(get, ctx, "allow", "");
	json_t *vuln = json_object(), *unk = json_object(), *allowed = json_object();
	json_t *kunk = json_object();
	int counts[2] = {0}; /* not-affected, mitigated */
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e)
	{
		const char *cls = str_or(json_object_get(e, "class"), "unparsed");
		const char *text = str_or(json_object_get(e, "value"), "");
		if (!strcmp(cls, "not-affected")) {
			counts[0]++;
		} else if (!strcmp(cls, "mitigated")) {
			counts[1]++;
		} else if (!strcmp(cls, "vulnerable")) {
			json_object_set_new(in_list(allow, k) ? allowed : vuln, k,
					    json_string(text));
		} else if (!strcmp(cls, "unknown")) {
			json_object_set_new(kunk, k,
					    json_string(text)); /* the kernel's own answer */
		} else {
			const char *why = str_or(json_object_get(e, "unknown"), text);
			json_object_set_new(unk, k, json_string(why));
		}
	}
	evidence(o, "files", json_integer((json_int_t)json_object_size(v)));
	evidence(o, "not_affected", json_integer(counts[0]));
	evidence(o, "mitigated", json_integer(counts[1]));
	evidence(o, "vulnerable", json_incref(vuln));
	if (json_object_size(allowed))
		evidence(o, "vulnerable_allowed", json_incref(allowed));
	if (json_object_size(kunk))
		evidence(o, "kernel_says_unknown", json_incref(kunk));
	if (json_object_size(unk))
		evidence(o, "unreadable", json_incref(unk));
	json_object_foreach(vuln, k, e) fail(o, "%s: %s", k, json_string_value(e));
	json_object_foreach(unk, k, e) unknown(o, "%s: %s", k, json_string_value(e));
	json_object_foreach(kunk, k, e)
	{
		if (o->unknown_fails)
			unknown(o, "%s: %s", k, json_string_value(e));
		else
			note(o, "%s: %s", k, json_string_value(e));
	}
	json_object_foreach(allowed, k, e) note(o, "allowed: %s: %s", k, json_string_value(e));
	pass_reason(o, "no vulnerability reported as Vulnerable (%d files)",
		    (int)json_object_size(v));
	json_decref(vuln);
	json_decref(unk);
	json_decref(kunk);
	json_decref(allowed);
	json_decref(v);
}

/* ---- probe.itlb-multihit -------------------------------------------------- */

static void run_itlb(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	char text[512], why[512];
	if (kq_fs_read(root, "/sys/devices/system/cpu/vulnerabilities/itlb_multihit", text,
		       sizeof(text), why, sizeof(why)) < 0) {
		evidence(o, "itlb_multihit", kq_unknown("%s", why));
		unknown(o, "iTLB multihit status unknown: %s", why);
		return;
	}
	evidence(o, "itlb_multihit", json_string(text));
	const char *cls = kq_vuln_class(text);
	if (!strcmp(cls, "not-affected")) {
		pass_reason(o, "CPU not affected by iTLB multihit");
		return;
	}
	if (!strcmp(cls, "unparsed") || !strcmp(cls, "unknown")) {
		unknown(o, "itlb_multihit: unrecognised status '%s'", text);
		return;
	}
	json_t *nx = kq_fs_json_str(root, "/sys/module/kvm/parameters/nx_huge_pages");
	evidence_copy(o, "nx_huge_pages", nx);
	if (!json_is_string(nx)) {
		unknown(o, "CPU affected (%s), kvm.nx_huge_pages unknown: %s", text,
			kq_unknown_reason(nx));
		json_decref(nx);
		return;
	}
	const char *val = json_string_value(nx);
	bool on;
	if (!strcasecmp(val, "force") || (kq_parse_bool(val, &on, NULL, 0) == 0 && on)) {
		pass_reason(o, "CPU affected, kvm.nx_huge_pages=%s (%s)", val, text);
	} else if (!strcmp(text, "KVM: Mitigation: VMX disabled")) {
		pass_reason(o, "CPU affected, KVM cannot run VMX guests (%s)", text);
	} else {
		fail(o, "CPU affected by iTLB multihit and kvm.nx_huge_pages=%s (%s)", val, text);
	}
	json_decref(nx);
}

/* ---- probe.tsc ----------------------------------------------------------- */

struct flags_ctx {
	struct kq_check_out *o;
	json_t *flags, *shown;
	const char *what;
};

static bool arr_has(json_t *a, const char *w)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (json_is_string(v) &&
					!strcmp(json_string_value(v), w)) return true;
	return false;
}

static void flag_one(const char *name, void *arg)
{
	struct flags_ctx *c = arg;
	bool has = arr_has(c->flags, name);
	json_object_set_new(c->shown, name, json_boolean(has));
	if (!has)
		fail(c->o, "%s lacks %s", c->what, name);
}

static void run_tsc(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cpu = kq_probe_cpu(root), *kern = kq_probe_kernel(root);
	json_t *flags = kq_probe_get(cpu, "cpuinfo.flags");
	json_t *cs = json_object_get(kern, "clocksource");
	evidence_copy(o, "clocksource", json_object_get(cs, "current"));
	evidence_copy(o, "clocksources", json_object_get(cs, "available"));
	json_t *feats = kq_probe_get(cpu, "cpuid.features");
	if (json_is_array(feats))
		evidence(o, "cpuid_invariant_tsc", json_boolean(arr_has(feats, "invariant_tsc")));
	if (!json_is_array(flags)) {
		char b[256];
		shown(flags ? flags : json_object_get(cpu, "cpuinfo"), b, sizeof(b));
		unknown(o, "CPU flags unknown: %s", b);
	} else {
		struct flags_ctx c = {o, flags, json_object(), "/proc/cpuinfo flags"};
		each_word(param(get, ctx, "flags", "constant_tsc nonstop_tsc"), flag_one, &c);
		evidence(o, "flags", c.shown);
	}
	const char *want = param(get, ctx, "clocksource", "");
	if (*want) {
		json_t *cur = json_object_get(cs, "current");
		if (!json_is_string(cur))
			unknown(o, "current clocksource unknown");
		else if (!in_list(want, json_string_value(cur)))
			fail(o, "clocksource is %s, expected %s", json_string_value(cur), want);
	}
	pass_reason(o, "TSC constant and nonstop%s%s", *want ? ", clocksource " : "", want);
	json_decref(cpu);
	json_decref(kern);
}

/* ---- probe.hugepages ----------------------------------------------------- */

static void pool_need(struct kq_check_out *o, json_t *pools, const char *label, long long need,
		      const char *count, json_t *mounts, bool want_mount, const char *where)
{
	json_t *p = json_object_get(pools, label);
	if (need <= 0)
		return;
	if (!p) {
		fail(o, "%s: no %s hugepage pool (kernel or CPU without %s pages)", where, label,
		     label);
		return;
	}
	json_t *v = json_object_get(p, count);
	if (!json_is_integer(v)) {
		char b[256];
		shown(v, b, sizeof(b));
		unknown(o, "%s: %s pool %s count: %s", where, label, count, b);
		return;
	}
	if (json_integer_value(v) < need)
		fail(o, "%s: %lld %s %s hugepages, need %lld", where,
		     (long long)json_integer_value(v), count, label, need);
	if (want_mount) {
		bool found = false;
		size_t i;
		json_t *m;
		char kb[32];
		snprintf(kb, sizeof(kb), "%s", label);
		json_array_foreach(mounts, i, m)
		{
			const char *ps = str_or(json_object_get(m, "pagesize"), "");
			/* pagesize=2M or 2048k; "default" counts for the default 2M size */
			if (!strcasecmp(ps, kb) ||
			    (!strcmp(ps, "default") && !strcmp(label, "2M")) ||
			    (!strcmp(label, "2M") && !strcasecmp(ps, "2048k")) ||
			    (!strcmp(label, "1G") &&
			     (!strcasecmp(ps, "1024M") || !strcasecmp(ps, "1048576k"))))
				found = true;
		}
		if (!json_is_array(mounts))
			unknown(o, "hugetlbfs mounts unknown");
		else if (!found)
			fail(o, "no hugetlbfs mounted for %s pages", label);
	}
}

static void run_hugepages(const char *root, kq_param_fn get, const void *ctx,
			  struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	long long n2 = param_int(get, ctx, "pages_2m", 0), n1 = param_int(get, ctx, "pages_1g", 0);
	long long node = param_int(get, ctx, "node", -1);
	const char *count = param(get, ctx, "count", "free");
	bool mount = param_bool(get, ctx, "mounted", false);
	if (strcmp(count, "free") && strcmp(count, "total")) {
		fail(o, "count = %s: expected free or total", count);
		count = "free";
	}
	json_t *pools = json_object_get(mem, "hugepages");
	char where[64] = "host";
	if (node >= 0) {
		char key[32];
		snprintf(key, sizeof(key), "node%lld", node);
		snprintf(where, sizeof(where), "NUMA node %lld", node);
		json_t *nd = json_object_get(json_object_get(mem, "numa_nodes"), key);
		pools = json_object_get(nd, "hugepages");
		if (!nd) {
			fail(o, "no NUMA node %lld", node);
			pools = NULL;
		}
	}
	json_t *mounts = json_object_get(mem, "hugetlbfs_mounts");
	evidence_copy(o, "pools", pools);
	evidence_copy(o, "hugetlbfs_mounts", mounts);
	evidence_copy(o, "thp_enabled", kq_probe_get(mem, "thp.enabled.selected"));
	evidence(o, "required",
		 json_pack("{s:I,s:I,s:s,s:b}", "2M", (json_int_t)n2, "1G", (json_int_t)n1, "count",
			   count, "mounted", mount));
	const char *u = pools ? kq_unknown_reason(pools) : NULL;
	if (u && (n2 > 0 || n1 > 0)) {
		unknown(o, "hugepage pools unknown: %s", u);
	} else if (pools && !u) {
		pool_need(o, pools, "2M", n2, count, mounts, mount, where);
		pool_need(o, pools, "1G", n1, count, mounts, mount, where);
	}
	pass_reason(o, "%s: %lld x 2M and %lld x 1G %s hugepages required", where, n2, n1, count);
	json_decref(mem);
}

/* ---- probe.thp ------------------------------------------------------------ */

static void choice_expect(struct kq_check_out *o, json_t *thp, const char *key, const char *allow)
{
	json_t *v = json_object_get(thp, key);
	json_t *sel = json_object_get(v, "selected");
	evidence_copy(o, key, sel ? sel : v);
	if (!allow || !*allow)
		return;
	if (!json_is_string(sel)) {
		char b[256];
		shown(v, b, sizeof(b));
		unknown(o, "THP %s: %s", key, b);
	} else if (!in_list(allow, json_string_value(sel))) {
		fail(o, "THP %s is %s, expected %s", key, json_string_value(sel), allow);
	}
}

static void run_thp(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	json_t *thp = json_object_get(mem, "thp");
	choice_expect(o, thp, "enabled", param(get, ctx, "enabled", ""));
	choice_expect(o, thp, "defrag", param(get, ctx, "defrag", ""));
	choice_expect(o, thp, "shmem_enabled", param(get, ctx, "shmem_enabled", ""));
	evidence_copy(o, "hpage_pmd_size", json_object_get(thp, "hpage_pmd_size"));
	const char *en = str_or(kq_probe_get(thp, "enabled.selected"), NULL);
	if (en)
		pass_reason(o, "THP %s", en);
	else
		pass_reason(o, "no THP expectation");
	json_decref(mem);
}

/* ---- probe.smt ------------------------------------------------------------ */

static void run_smt(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *smt = kq_probe_smt(root);
	json_t *control = json_object_get(smt, "control"), *active = json_object_get(smt, "active");
	evidence_copy(o, "control", control);
	evidence_copy(o, "active", active);
	const char *allow = param(get, ctx, "control", "");
	if (*allow) {
		if (!json_is_string(control))
			unknown(o, "SMT control unknown: %s", kq_unknown_reason(control));
		else if (!in_list(allow, json_string_value(control)))
			fail(o, "SMT control is %s, expected %s", json_string_value(control),
			     allow);
	}
	const char *want_active = param(get, ctx, "active", "any");
	bool want;
	if (strcmp(want_active, "any") && kq_parse_bool(want_active, &want, NULL, 0) == 0) {
		if (!json_is_boolean(active))
			unknown(o, "SMT active unknown: %s", kq_unknown_reason(active));
		else if (json_is_true(active) != want)
			fail(o, "SMT is %s, expected %s",
			     json_is_true(active) ? "active" : "inactive",
			     want ? "active" : "inactive");
	}
	if (!strcmp(param(get, ctx, "smt_vulnerable", "allow"), "fail")) {
		json_t *v = kq_probe_vulnerabilities(root);
		json_t *hits = json_array();
		const char *k;
		json_t *e;
		int unreadable = 0;
		json_object_foreach(v, k, e)
		{
			const char *t = str_or(json_object_get(e, "value"), "");
			if (strstr(t, "SMT vulnerable") || strstr(t, "SMT Host state unknown"))
				json_array_append_new(hits, json_string(k));
			if (json_object_get(e, "unknown"))
				unreadable++;
		}
		evidence(o, "smt_vulnerable", json_incref(hits));
		if (json_array_size(hits) && json_is_true(active))
			fail(o, "SMT active while %zu vulnerabilities report SMT vulnerable",
			     json_array_size(hits));
		else if (json_array_size(hits) && !json_is_boolean(active))
			unknown(o, "SMT vulnerable per kernel, SMT state unknown");
		else if (!json_is_false(active) && kq_unknown_reason(v))
			unknown(o, "cannot tell whether SMT is vulnerable: %s",
				kq_unknown_reason(v));
		else if (!json_is_false(active) && unreadable)
			unknown(o,
				"cannot tell whether SMT is vulnerable: %d vulnerability files "
				"unreadable",
				unreadable);
		json_decref(hits);
		json_decref(v);
	}
	pass_reason(o, "SMT control %s", str_or(control, "unknown"));
	json_decref(smt);
}

/* ---- probe.cpufreq ------------------------------------------------------- */

static void run_cpufreq(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cf = kq_probe_cpufreq(root);
	const char *u = kq_unknown_reason(cf);
	const char *gov = param(get, ctx, "governor", ""), *boost = param(get, ctx, "boost", "any");
	if (u) {
		evidence(o, "cpufreq", cf);
		if (*gov || strcmp(boost, "any"))
			unknown(o, "CPU frequency scaling unknown: %s", u);
		else
			unknown(o, "no CPU frequency information: %s", u);
		return;
	}
	evidence_copy(o, "driver", json_object_get(cf, "driver"));
	evidence_copy(o, "governors", json_object_get(cf, "governors"));
	evidence_copy(o, "boost", json_object_get(cf, "boost"));
	evidence_copy(o, "cpuinfo_max_khz", json_object_get(cf, "cpuinfo_max_khz"));
	json_t *unr = json_object_get(cf, "unreadable_governors");
	if (*gov && json_is_integer(unr))
		unknown(o, "%lld CPU policies with an unreadable governor",
			(long long)json_integer_value(unr));
	if (*gov) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(cf, "governors"), k, v) if (!in_list(gov, k))
		    fail(o, "%lld CPU policies use governor %s, expected %s",
			 (long long)json_integer_value(v), k, gov);
	}
	bool want;
	if (strcmp(boost, "any") && kq_parse_bool(boost, &want, NULL, 0) == 0) {
		json_t *b = json_object_get(cf, "boost");
		if (!json_is_boolean(b))
			unknown(o, "boost state unknown: %s", kq_unknown_reason(b));
		else if (json_is_true(b) != want)
			fail(o, "boost is %s, expected %s", json_is_true(b) ? "on" : "off",
			     want ? "on" : "off");
	}
	pass_reason(o, "governor %s", str_or(json_object_get(cf, "governor"), "?"));
	json_decref(cf);
}

/* ---- probe.ksm ---------------------------------------------------------- */

static void run_ksm(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	json_t *ksm = json_object_get(mem, "ksm");
	evidence_copy(o, "ksm", ksm);
	json_t *run = json_object_get(ksm, "run");
	const char *allow = param(get, ctx, "run", "");
	if (*allow) {
		char b[32];
		if (!json_is_integer(run)) {
			unknown(o, "KSM state unknown: %s", kq_unknown_reason(run));
		} else {
			snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(run));
			if (!in_list(allow, b))
				fail(o, "KSM run is %s, expected %s", b, allow);
		}
	}
	if (json_is_integer(run))
		pass_reason(o, "KSM run=%lld", (long long)json_integer_value(run));
	else
		pass_reason(o, "no KSM expectation");
	json_decref(mem);
}

/* ---- probe.environment ---------------------------------------------------- */

static void run_environment(const char *root, kq_param_fn get, const void *ctx,
			    struct kq_check_out *o)
{
	const char *env = kq_probe_environment_at(root);
	evidence(o, "environment", json_string(env));
	json_t *cpu = kq_probe_cpu(root);
	evidence_copy(o, "hypervisor", kq_probe_get(cpu, "cpuid.hypervisor"));
	json_decref(cpu);
	const char *allow = param(get, ctx, "allow", "bare-metal nested emulated");
	if (!strcmp(env, "unknown"))
		unknown(o, "environment unknown");
	else if (!in_list(allow, env))
		fail(o, "environment is %s, expected %s", env, allow);
	pass_reason(o, "%s", env);
}

/* ---- probe.cpu-virt ---------------------------------------------------- */

struct virt_ctx {
	struct kq_check_out *o;
	json_t *virt, *shown;
};

static void virt_one(const char *name, void *arg)
{
	struct virt_ctx *c = arg;
	if (!strcmp(name, "hw")) {
		json_object_set_new(
		    c->shown, "hw",
		    json_string(str_or(json_object_get(c->virt, "extension"), "?")));
		return; /* the caller checked that an extension is visible */
	}
	json_t *v = json_object_get(c->virt, name);
	if (!v || !strcmp(name, "extension") || !strcmp(name, "source")) {
		fail(c->o, "unknown virtualization feature %s", name);
		return;
	}
	json_object_set_new(c->shown, name, json_deep_copy(v));
	if (json_is_boolean(v)) {
		if (!json_is_true(v))
			fail(c->o, "CPU lacks %s", name);
	} else {
		unknown(c->o, "%s: %s", name, kq_unknown_reason(v));
	}
}

static void run_cpu_virt(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cpu = kq_probe_cpu(root);
	json_t *virt = json_object_get(cpu, "virtualization");
	evidence_copy(o, "virtualization", virt);
	json_t *kvm = kq_probe_kvm(root);
	evidence_copy(o, "kvm_vendor_module", json_object_get(kvm, "vendor_module"));
	json_decref(kvm);
	struct virt_ctx c = {o, virt, json_object()};
	const char *req = param(get, ctx, "require", "");
	const char *ext = str_or(json_object_get(virt, "extension"), "none");
	if (*req && !strcmp(ext, "none")) {
		json_object_set_new(c.shown, "hw", json_string(ext));
		fail(o, "no hardware virtualization (VMX/SVM) visible to this kernel; required: %s",
		     req);
	} else {
		each_word(req, virt_one, &c);
	}
	evidence(o, "required", c.shown);
	pass_reason(o, "hardware virtualization: %s",
		    str_or(json_object_get(virt, "extension"), "unknown"));
	json_decref(cpu);
}

/* ---- probe.kernel ------------------------------------------------------- */

/* Compares dotted release numbers: "6.1.0-18-amd64" vs "5.15". */
static int release_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		else
			a = "";
		if (*b == '.')
			b++;
		else
			b = "";
	}
	return 0;
}

struct cmd_ctx {
	struct kq_check_out *o;
	const char *cmdline;
	bool want;
};

static void cmd_one(const char *w, void *arg)
{
	struct cmd_ctx *c = arg;
	if (in_list(c->cmdline, w) != c->want)
		fail(c->o, "kernel command line %s %s", c->want ? "lacks" : "has", w);
}

static void run_kernel(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *k = kq_probe_kernel(root);
	json_t *rel = json_object_get(k, "release"), *cmd = json_object_get(k, "cmdline");
	evidence_copy(o, "release", rel);
	evidence_copy(o, "cmdline", cmd);
	evidence_copy(o, "tainted", json_object_get(k, "tainted"));
	const char *min = param(get, ctx, "min_release", "");
	if (*min) {
		if (!json_is_string(rel))
			unknown(o, "kernel release unknown: %s", kq_unknown_reason(rel));
		else if (release_cmp(json_string_value(rel), min) < 0)
			fail(o, "kernel %s older than %s", json_string_value(rel), min);
	}
	const char *has = param(get, ctx, "cmdline_has", ""),
		   *lacks = param(get, ctx, "cmdline_lacks", "");
	if (*has || *lacks) {
		if (!json_is_string(cmd)) {
			unknown(o, "kernel command line unknown: %s", kq_unknown_reason(cmd));
		} else {
			struct cmd_ctx c = {o, json_string_value(cmd), true};
			each_word(has, cmd_one, &c);
			c.want = false;
			each_word(lacks, cmd_one, &c);
		}
	}
	if (param_bool(get, ctx, "untainted", false)) {
		json_t *t = json_object_get(k, "tainted");
		if (!json_is_integer(t))
			unknown(o, "taint state unknown");
		else if (json_integer_value(t) != 0)
			fail(o, "kernel tainted (%lld)", (long long)json_integer_value(t));
	}
	pass_reason(o, "kernel %s", str_or(rel, "unknown"));
	json_decref(k);
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
    PROBE("kvm-caps", "required KVM capabilities and API version", true, p_kvm_caps, run_kvm_caps),
    PROBE("kvm-cpuid", "CPUID features KVM offers guests", true, p_kvm_cpuid, run_kvm_cpuid),
    PROBE("kvm-params", "kvm / kvm_intel / kvm_amd module parameters", false, p_kvm_params,
	  run_kvm_params),
    PROBE("vulnerabilities", "no CPU vulnerability reported as Vulnerable", false, p_vuln,
	  run_vulnerabilities),
    PROBE("itlb-multihit", "nx_huge_pages on where the CPU is affected by iTLB multihit", false,
	  p_none, run_itlb),
    PROBE("tsc", "TSC constant and nonstop, clocksource", false, p_tsc, run_tsc),
    PROBE("hugepages", "hugepage pools available", false, p_huge, run_hugepages),
    PROBE("thp", "transparent hugepage settings", false, p_thp, run_thp),
    PROBE("smt", "SMT control and state", false, p_smt, run_smt),
    PROBE("cpufreq", "CPU frequency governor and boost", false, p_cpufreq, run_cpufreq),
    PROBE("ksm", "kernel samepage merging state", false, p_ksm, run_ksm),
    PROBE("environment", "bare metal, nested or emulated", false, p_env, run_environment),
    PROBE("cpu-virt", "hardware virtualization features", false, p_virt, run_cpu_virt),
    PROBE("kernel", "kernel release and command line", false, p_kernel, run_kernel),
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
	out->enforce = param_bool(get, ctx, "enforce", true);
	const char *ou = param(get, ctx, "on_unknown", "skip");
	out->unknown_fails = !strcmp(ou, "fail");
	if (strcmp(ou, "skip") && strcmp(ou, "fail")) {
		bool e = out->enforce;
		out->enforce = true;
		fail(out, "on_unknown = %s: expected skip or fail", ou);
		out->enforce = e;
	}
	const char *root = param(get, ctx, "root", "");
	if (!kq_fs_is_live(root))
		evidence(out, "root", json_string(root));
	c->run(root, get, ctx, out);
	if (!out->enforce && json_array_size(out->notes))
		evidence(out, "enforce", json_false());
}

void kq_check_out_free(struct kq_check_out *out)
{
	json_decref(out->evidence);
	json_decref(out->notes);
	out->evidence = out->notes = NULL;
}
