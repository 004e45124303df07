/* Conformance checks of the CPU: TSC, frequency scaling, hardware
 * virtualization features. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/fs.h"
#include "probes/probe.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
		kq_ck_fail(c->o, "%s lacks %s", c->what, name);
}

void kq_check_tsc(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cpu = kq_probe_cpu(root), *kern = kq_probe_kernel(root);
	json_t *flags = kq_probe_get(cpu, "cpuinfo.flags");
	json_t *cs = json_object_get(kern, "clocksource");
	kq_ck_evidence_copy(o, "clocksource", json_object_get(cs, "current"));
	kq_ck_evidence_copy(o, "clocksources", json_object_get(cs, "available"));
	json_t *feats = kq_probe_get(cpu, "cpuid.features");
	if (json_is_array(feats))
		kq_ck_evidence(o, "cpuid_invariant_tsc",
			       json_boolean(arr_has(feats, "invariant_tsc")));
	if (!json_is_array(flags)) {
		char b[256];
		kq_ck_shown(flags ? flags : json_object_get(cpu, "cpuinfo"), b, sizeof(b));
		kq_ck_unknown(o, "CPU flags unknown: %s", b);
	} else {
		struct flags_ctx c = {o, flags, json_object(), "/proc/cpuinfo flags"};
		kq_ck_each_word(kq_ck_param(get, ctx, "flags", "constant_tsc nonstop_tsc"),
				flag_one, &c);
		kq_ck_evidence(o, "flags", c.shown);
	}
	const char *want = kq_ck_param(get, ctx, "clocksource", "");
	if (*want) {
		json_t *cur = json_object_get(cs, "current");
		if (!json_is_string(cur))
			kq_ck_unknown(o, "current clocksource unknown");
		else if (!kq_ck_in_list(want, json_string_value(cur)))
			kq_ck_fail(o, "clocksource is %s, expected %s", json_string_value(cur),
				   want);
	}
	kq_ck_pass_reason(o, "TSC constant and nonstop%s%s", *want ? ", clocksource " : "", want);
	json_decref(cpu);
	json_decref(kern);
}

/* ---- probe.cpufreq ------------------------------------------------------- */

void kq_check_cpufreq(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cf = kq_probe_cpufreq(root);
	const char *u = kq_unknown_reason(cf);
	const char *gov = kq_ck_param(get, ctx, "governor", ""),
		   *boost = kq_ck_param(get, ctx, "boost", "any");
	if (u) {
		kq_ck_evidence(o, "cpufreq", cf);
		if (*gov || strcmp(boost, "any"))
			kq_ck_unknown(o, "CPU frequency scaling unknown: %s", u);
		else
			kq_ck_unknown(o, "no CPU frequency information: %s", u);
		return;
	}
	kq_ck_evidence_copy(o, "driver", json_object_get(cf, "driver"));
	kq_ck_evidence_copy(o, "governors", json_object_get(cf, "governors"));
	kq_ck_evidence_copy(o, "boost", json_object_get(cf, "boost"));
	kq_ck_evidence_copy(o, "cpuinfo_max_khz", json_object_get(cf, "cpuinfo_max_khz"));
	json_t *unr = json_object_get(cf, "unreadable_governors");
	if (*gov && json_is_integer(unr))
		kq_ck_unknown(o, "%lld CPU policies with an unreadable governor",
			      (long long)json_integer_value(unr));
	if (*gov) {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(cf, "governors"), k,
				    v) if (!kq_ck_in_list(gov, k))
		    kq_ck_fail(o, "%lld CPU policies use governor %s, expected %s",
			       (long long)json_integer_value(v), k, gov);
	}
	bool want;
	if (strcmp(boost, "any") && kq_parse_bool(boost, &want, NULL, 0) == 0) {
		json_t *b = json_object_get(cf, "boost");
		if (!json_is_boolean(b))
			kq_ck_unknown(o, "boost state unknown: %s", kq_unknown_reason(b));
		else if (json_is_true(b) != want)
			kq_ck_fail(o, "boost is %s, expected %s", json_is_true(b) ? "on" : "off",
				   want ? "on" : "off");
	}
	kq_ck_pass_reason(o, "governor %s", kq_ck_str_or(json_object_get(cf, "governor"), "?"));
	json_decref(cf);
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
		    json_string(kq_ck_str_or(json_object_get(c->virt, "extension"), "?")));
		return; /* the caller checked that an extension is visible */
	}
	json_t *v = json_object_get(c->virt, name);
	if (!v || !strcmp(name, "extension") || !strcmp(name, "source")) {
		kq_ck_fail(c->o, "unknown virtualization feature %s", name);
		return;
	}
	json_object_set_new(c->shown, name, json_deep_copy(v));
	if (json_is_boolean(v)) {
		if (!json_is_true(v))
			kq_ck_fail(c->o, "CPU lacks %s", name);
	} else {
		kq_ck_unknown(c->o, "%s: %s", name, kq_unknown_reason(v));
	}
}

void kq_check_cpu_virt(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *cpu = kq_probe_cpu(root);
	json_t *virt = json_object_get(cpu, "virtualization");
	kq_ck_evidence_copy(o, "virtualization", virt);
	json_t *kvm = kq_probe_kvm(root);
	kq_ck_evidence_copy(o, "kvm_vendor_module", json_object_get(kvm, "vendor_module"));
	json_decref(kvm);
	struct virt_ctx c = {o, virt, json_object()};
	const char *req = kq_ck_param(get, ctx, "require", "");
	const char *ext = kq_ck_str_or(json_object_get(virt, "extension"), "none");
	if (*req && !strcmp(ext, "none")) {
		json_object_set_new(c.shown, "hw", json_string(ext));
		kq_ck_fail(
		    o, "no hardware virtualization (VMX/SVM) visible to this kernel; required: %s",
		    req);
	} else {
		kq_ck_each_word(req, virt_one, &c);
	}
	kq_ck_evidence(o, "required", c.shown);
	kq_ck_pass_reason(o, "hardware virtualization: %s",
			  kq_ck_str_or(json_object_get(virt, "extension"), "unknown"));
	json_decref(cpu);
}
