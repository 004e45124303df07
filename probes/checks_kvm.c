/* Conformance checks of KVM itself: capabilities, the CPUID it offers
 * guests, module parameters. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/cpuid.h"
#include "probes/fs.h"
#include "probes/kvm_caps.h"
#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		kq_ck_fail(c->o, "bad requirement '%s' (NAME or NAME>=N)", item);
		return;
	}
	const struct kq_kvm_cap *cap = kq_kvm_cap_by_name(name);
	if (!cap) {
		kq_ck_fail(c->o, "unknown capability %s", name);
		return;
	}
	json_t *v = json_object_get(c->caps, cap->name);
	if (!json_is_integer(v)) {
		char b[256];
		kq_ck_shown(v, b, sizeof(b));
		json_object_set_new(c->shown, cap->name, v ? json_deep_copy(v) : json_null());
		kq_ck_unknown(c->o, "%s (%s): %s", cap->name, cap->kernel, b);
		return;
	}
	long long val = json_integer_value(v);
	json_object_set_new(c->shown, cap->name, json_integer(val));
	if (val < min) {
		json_array_append_new(c->missing, json_string(cap->name));
		if (val == 0)
			kq_ck_fail(c->o, "missing KVM capability %s (%s)", cap->name, cap->kernel);
		else
			kq_ck_fail(c->o, "KVM capability %s (%s) is %lld, need >= %lld", cap->name,
				   cap->kernel, val, min);
	}
}

/* Returns the kvm section when /dev/kvm answered, else records SKIP. */
static json_t *kvm_or_skip(const char *root, struct kq_check_out *o)
{
	json_t *kvm = kq_probe_kvm(root);
	if (!json_is_true(json_object_get(kvm, "available"))) {
		kq_ck_evidence_copy(o, "device", json_object_get(kvm, "device"));
		kq_ck_unknown(o, "KVM not available: %s",
			      kq_ck_str_or(json_object_get(kvm, "unknown"), "no /dev/kvm"));
		json_decref(kvm);
		return NULL;
	}
	return kvm;
}

void kq_check_kvm_caps(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *kvm = kvm_or_skip(root, o);
	if (!kvm)
		return;
	long long want_api = kq_ck_param_int(get, ctx, "api_version", 12);
	json_t *api = json_object_get(kvm, "api_version");
	kq_ck_evidence_copy(o, "api_version", api);
	kq_ck_evidence_copy(o, "vendor_module", json_object_get(kvm, "vendor_module"));
	if (!json_is_integer(api))
		kq_ck_unknown(o, "KVM API version unknown");
	else if (json_integer_value(api) != want_api)
		kq_ck_fail(o, "KVM API version %lld, expected %lld",
			   (long long)json_integer_value(api), want_api);
	struct caps_ctx c = {o, json_object_get(kvm, "capabilities"), json_object(), json_array()};
	const char *req = kq_ck_param(get, ctx, "require", "");
	kq_ck_each_word(req, caps_one, &c);
	kq_ck_evidence(o, "required", c.shown);
	kq_ck_evidence(o, "missing", c.missing);
	kq_ck_pass_reason(o, "all %zu required capabilities present", json_object_size(c.shown));
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
		kq_ck_fail(c->o, "unknown CPUID feature name %s", name);
		return;
	}
	json_object_set_new(c->shown, name, json_boolean(has));
	if (!has)
		kq_ck_fail(c->o, "KVM_GET_SUPPORTED_CPUID does not offer %s", name);
}

void kq_check_kvm_cpuid(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *kvm = kvm_or_skip(root, o);
	if (!kvm)
		return;
	json_t *sc = json_object_get(kvm, "supported_cpuid");
	json_t *leaves = json_object_get(sc, "leaves");
	if (!json_is_array(leaves)) {
		char b[256];
		kq_ck_shown(sc, b, sizeof(b));
		kq_ck_unknown(o, "supported CPUID: %s", b);
		json_decref(kvm);
		return;
	}
	struct kq_cpuid t = {0};
	size_t i;
	json_t *l;
	json_array_foreach(leaves, i, l)
	{
		char line[160];
		snprintf(line, sizeof(line), "%s\n", kq_ck_str_or(l, ""));
		kq_cpuid_parse(&t, line, NULL, 0);
	}
	kq_ck_evidence_copy(o, "entries", json_object_get(sc, "entries"));
	struct cpuid_ctx c = {o, &t, json_object()};
	kq_ck_each_word(kq_ck_param(get, ctx, "require", ""), cpuid_one, &c);
	kq_ck_evidence(o, "required", c.shown);
	kq_ck_evidence(o, "offered", kq_cpuid_features(&t));
	kq_ck_pass_reason(o, "KVM offers all %zu required CPUID features",
			  json_object_size(c.shown));
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
		kq_ck_fail(c->o, "bad expectation '%s' (module.param=value[|value...])", item);
		return;
	}
	json_t *m = json_object_get(c->mods, mod);
	char key[256];
	snprintf(key, sizeof(key), "%s.%s", mod, par);
	if (!json_is_true(json_object_get(m, "loaded"))) {
		json_object_set_new(c->shown, key, json_string("(module not loaded)"));
		if (!strcmp(mod, "kvm"))
			kq_ck_unknown(c->o, "module kvm not loaded");
		return; /* the other vendor's module: not applicable */
	}
	c->applicable++;
	json_t *params = json_object_get(m, "parameters");
	if (kq_unknown_reason(params)) {
		json_object_set_new(c->shown, key, json_deep_copy(params));
		kq_ck_unknown(c->o, "%s: %s", key, kq_unknown_reason(params));
		return;
	}
	json_t *v = json_object_get(params, par);
	if (!json_is_string(v)) {
		char b[256];
		kq_ck_shown(v, b, sizeof(b));
		json_object_set_new(c->shown, key, v ? json_deep_copy(v) : json_null());
		kq_ck_unknown(c->o, "%s: %s", key, b);
		return;
	}
	const char *have = json_string_value(v);
	json_object_set_new(c->shown, key, json_string(have));
	char alts[128];
	snprintf(alts, sizeof(alts), "%s", want);
	for (char *save = NULL, *a = strtok_r(alts, "|", &save); a; a = strtok_r(NULL, "|", &save))
		if (param_matches(have, a))
			return;
	kq_ck_fail(c->o, "%s is %s, expected %s", key, have, want);
}

void kq_check_kvm_params(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *kvm = kq_probe_kvm(root);
	struct params_ctx c = {o, json_object_get(kvm, "modules"), json_object(), 0};
	kq_ck_evidence_copy(o, "vendor_module", json_object_get(kvm, "vendor_module"));
	const char *exp = kq_ck_param(get, ctx, "expect", "");
	kq_ck_each_word(exp, params_one, &c);
	kq_ck_evidence(o, "parameters", c.shown);
	if (*exp && !c.applicable)
		kq_ck_unknown(o, "none of the modules named in expect is loaded");
	kq_ck_pass_reason(o, "%d module parameters as expected", c.applicable);
	json_decref(kvm);
}
