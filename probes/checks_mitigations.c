/* Conformance checks of CPU vulnerability mitigations: the kernel's
 * vulnerability files, iTLB multihit, SMT. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/fs.h"
#include "probes/probe.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- probe.vulnerabilities ------------------------------------------------ */

void kq_check_vulnerabilities(const char *root, kq_param_fn get, const void *ctx,
			      struct kq_check_out *o)
{
	json_t *v = kq_probe_vulnerabilities(root);
	const char *u = kq_unknown_reason(v);
	if (u) {
		kq_ck_evidence(o, "vulnerabilities", v);
		kq_ck_unknown(o, "CPU vulnerabilities unknown: %s", u);
		return;
	}
	const char *allow = kq_ck_param(get, ctx, "allow", "");
	json_t *vuln = json_object(), *unk = json_object(), *allowed = json_object();
	json_t *kunk = json_object();
	int counts[2] = {0}; /* not-affected, mitigated */
	const char *k;
	json_t *e;
	json_object_foreach(v, k, e)
	{
		const char *cls = kq_ck_str_or(json_object_get(e, "class"), "unparsed");
		const char *text = kq_ck_str_or(json_object_get(e, "value"), "");
		if (!strcmp(cls, "not-affected")) {
			counts[0]++;
		} else if (!strcmp(cls, "mitigated")) {
			counts[1]++;
		} else if (!strcmp(cls, "vulnerable")) {
			json_object_set_new(kq_ck_in_list(allow, k) ? allowed : vuln, k,
					    json_string(text));
		} else if (!strcmp(cls, "unknown")) {
			json_object_set_new(kunk, k,
					    json_string(text)); /* the kernel's own answer */
		} else {
			const char *why = kq_ck_str_or(json_object_get(e, "unknown"), text);
			json_object_set_new(unk, k, json_string(why));
		}
	}
	kq_ck_evidence(o, "files", json_integer((json_int_t)json_object_size(v)));
	kq_ck_evidence(o, "not_affected", json_integer(counts[0]));
	kq_ck_evidence(o, "mitigated", json_integer(counts[1]));
	kq_ck_evidence(o, "vulnerable", json_incref(vuln));
	if (json_object_size(allowed))
		kq_ck_evidence(o, "vulnerable_allowed", json_incref(allowed));
	if (json_object_size(kunk))
		kq_ck_evidence(o, "kernel_says_unknown", json_incref(kunk));
	if (json_object_size(unk))
		kq_ck_evidence(o, "unreadable", json_incref(unk));
	json_object_foreach(vuln, k, e) kq_ck_fail(o, "%s: %s", k, json_string_value(e));
	json_object_foreach(unk, k, e) kq_ck_unknown(o, "%s: %s", k, json_string_value(e));
	json_object_foreach(kunk, k, e)
	{
		if (o->unknown_fails)
			kq_ck_unknown(o, "%s: %s", k, json_string_value(e));
		else
			kq_ck_note(o, "%s: %s", k, json_string_value(e));
	}
	json_object_foreach(allowed, k, e)
	    kq_ck_note(o, "allowed: %s: %s", k, json_string_value(e));
	kq_ck_pass_reason(o, "no vulnerability reported as Vulnerable (%d files)",
			  (int)json_object_size(v));
	json_decref(vuln);
	json_decref(unk);
	json_decref(kunk);
	json_decref(allowed);
	json_decref(v);
}

/* ---- probe.itlb-multihit -------------------------------------------------- */

void kq_check_itlb(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	char text[512], why[512];
	if (kq_fs_read(root, "/sys/devices/system/cpu/vulnerabilities/itlb_multihit", text,
		       sizeof(text), why, sizeof(why)) < 0) {
		kq_ck_evidence(o, "itlb_multihit", kq_unknown("%s", why));
		kq_ck_unknown(o, "iTLB multihit status unknown: %s", why);
		return;
	}
	kq_ck_evidence(o, "itlb_multihit", json_string(text));
	const char *cls = kq_vuln_class(text);
	if (!strcmp(cls, "not-affected")) {
		kq_ck_pass_reason(o, "CPU not affected by iTLB multihit");
		return;
	}
	if (!strcmp(cls, "unparsed") || !strcmp(cls, "unknown")) {
		kq_ck_unknown(o, "itlb_multihit: unrecognised status '%s'", text);
		return;
	}
	json_t *nx = kq_fs_json_str(root, "/sys/module/kvm/parameters/nx_huge_pages");
	kq_ck_evidence_copy(o, "nx_huge_pages", nx);
	if (!json_is_string(nx)) {
		kq_ck_unknown(o, "CPU affected (%s), kvm.nx_huge_pages unknown: %s", text,
			      kq_unknown_reason(nx));
		json_decref(nx);
		return;
	}
	const char *val = json_string_value(nx);
	bool on;
	if (!strcasecmp(val, "force") || (kq_parse_bool(val, &on, NULL, 0) == 0 && on)) {
		kq_ck_pass_reason(o, "CPU affected, kvm.nx_huge_pages=%s (%s)", val, text);
	} else if (!strcmp(text, "KVM: Mitigation: VMX disabled")) {
		kq_ck_pass_reason(o, "CPU affected, KVM cannot run VMX guests (%s)", text);
	} else {
		kq_ck_fail(o, "CPU affected by iTLB multihit and kvm.nx_huge_pages=%s (%s)", val,
			   text);
	}
	json_decref(nx);
}

/* ---- probe.smt ------------------------------------------------------------ */

void kq_check_smt(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *smt = kq_probe_smt(root);
	json_t *control = json_object_get(smt, "control"), *active = json_object_get(smt, "active");
	kq_ck_evidence_copy(o, "control", control);
	kq_ck_evidence_copy(o, "active", active);
	const char *allow = kq_ck_param(get, ctx, "control", "");
	if (*allow) {
		if (!json_is_string(control))
			kq_ck_unknown(o, "SMT control unknown: %s", kq_unknown_reason(control));
		else if (!kq_ck_in_list(allow, json_string_value(control)))
			kq_ck_fail(o, "SMT control is %s, expected %s", json_string_value(control),
				   allow);
	}
	const char *want_active = kq_ck_param(get, ctx, "active", "any");
	bool want;
	if (strcmp(want_active, "any") && kq_parse_bool(want_active, &want, NULL, 0) == 0) {
		if (!json_is_boolean(active))
			kq_ck_unknown(o, "SMT active unknown: %s", kq_unknown_reason(active));
		else if (json_is_true(active) != want)
			kq_ck_fail(o, "SMT is %s, expected %s",
				   json_is_true(active) ? "active" : "inactive",
				   want ? "active" : "inactive");
	}
	if (!strcmp(kq_ck_param(get, ctx, "smt_vulnerable", "allow"), "fail")) {
		json_t *v = kq_probe_vulnerabilities(root);
		json_t *hits = json_array();
		const char *k;
		json_t *e;
		int unreadable = 0;
		json_object_foreach(v, k, e)
		{
			const char *t = kq_ck_str_or(json_object_get(e, "value"), "");
			if (strstr(t, "SMT vulnerable") || strstr(t, "SMT Host state unknown"))
				json_array_append_new(hits, json_string(k));
			if (json_object_get(e, "unknown"))
				unreadable++;
		}
		kq_ck_evidence(o, "smt_vulnerable", json_incref(hits));
		if (json_array_size(hits) && json_is_true(active))
			kq_ck_fail(o, "SMT active while %zu vulnerabilities report SMT vulnerable",
				   json_array_size(hits));
		else if (json_array_size(hits) && !json_is_boolean(active))
			kq_ck_unknown(o, "SMT vulnerable per kernel, SMT state unknown");
		else if (!json_is_false(active) && kq_unknown_reason(v))
			kq_ck_unknown(o, "cannot tell whether SMT is vulnerable: %s",
				      kq_unknown_reason(v));
		else if (!json_is_false(active) && unreadable)
			kq_ck_unknown(
			    o,
			    "cannot tell whether SMT is vulnerable: %d vulnerability files "
			    "unreadable",
			    unreadable);
		json_decref(hits);
		json_decref(v);
	}
	kq_ck_pass_reason(o, "SMT control %s", kq_ck_str_or(control, "unknown"));
	json_decref(smt);
}
