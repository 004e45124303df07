/* The CPU part of the fingerprint: libcpuid identification (over the same
 * raw leaves our own decoder reads), /proc/cpuinfo flags and bugs, and a
 * summary of the hardware virtualization features. */
#include "probes/probe.h"
#include "probes/cpuid.h"
#include "probes/fs.h"

#include <libcpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills libcpuid's raw structure from our leaf table. */
static void to_libcpuid(const struct kq_cpuid *c, struct cpu_raw_data_t *raw)
{
	memset(raw, 0, sizeof(*raw));
	for (size_t i = 0; i < c->n; i++) {
		const struct kq_cpuid_entry *e = &c->e[i];
		uint32_t r[4] = {e->eax, e->ebx, e->ecx, e->edx};
		uint32_t(*dst)[NUM_REGS] = NULL;
		if (e->fn < MAX_CPUID_LEVEL && e->idx == 0)
			dst = &raw->basic_cpuid[e->fn];
		else if (e->fn >= 0x80000000 && e->fn - 0x80000000 < MAX_EXT_CPUID_LEVEL &&
			 e->idx == 0)
			dst = &raw->ext_cpuid[e->fn - 0x80000000];
		if (dst)
			memcpy(*dst, r, sizeof(r));
		if (e->fn == 4 && e->idx < MAX_INTELFN4_LEVEL)
			memcpy(raw->intel_fn4[e->idx], r, sizeof(r));
		if (e->fn == 0xb && e->idx < MAX_INTELFN11_LEVEL)
			memcpy(raw->intel_fn11[e->idx], r, sizeof(r));
		if (e->fn == 0x12 && e->idx < MAX_INTELFN12H_LEVEL)
			memcpy(raw->intel_fn12h[e->idx], r, sizeof(r));
		if (e->fn == 0x14 && e->idx < MAX_INTELFN14H_LEVEL)
			memcpy(raw->intel_fn14h[e->idx], r, sizeof(r));
		if (e->fn == 0x8000001d && e->idx < MAX_AMDFN8000001DH_LEVEL)
			memcpy(raw->amd_fn8000001dh[e->idx], r, sizeof(r));
	}
}

static json_t *warnings; /* collects libcpuid warnings during one identify */

static void collect_warning(const char *msg)
{
	if (!warnings)
		return;
	char b[256];
	snprintf(b, sizeof(b), "%s", msg);
	size_t n = strlen(b);
	while (n && (b[n - 1] == '\n' || b[n - 1] == ' '))
		b[--n] = '\0';
	json_array_append_new(warnings, json_string(b));
}

static json_t *cache_kb(int32_t v)
{
	return v > 0 ? json_integer(v) : json_null();
}

static json_t *identify(const struct kq_cpuid *c)
{
	struct cpu_raw_data_t raw;
	struct cpu_id_t id;
	to_libcpuid(c, &raw);
	warnings = json_array();
	libcpuid_warn_fn_t old = cpuid_set_warn_function(collect_warning);
	int rc = cpu_identify(&raw, &id);
	cpuid_set_warn_function(old);
	json_t *w = warnings;
	warnings = NULL;
	if (rc != 0) {
		json_decref(w);
		return kq_unknown("libcpuid cpu_identify: %s", cpuid_error());
	}
	json_t *o = json_object();
	json_object_set_new(o, "vendor", json_string(id.vendor_str));
	json_object_set_new(o, "brand", json_string(id.brand_str));
	json_object_set_new(o, "codename", json_string(id.cpu_codename));
	json_object_set_new(o, "family", json_integer(id.ext_family));
	json_object_set_new(o, "model", json_integer(id.ext_model));
	json_object_set_new(o, "stepping", json_integer(id.stepping));
	json_object_set_new(o, "base_family", json_integer(id.family));
	json_object_set_new(o, "base_model", json_integer(id.model));
	json_object_set_new(o, "cores_per_package", json_integer(id.num_cores));
	json_object_set_new(o, "logical_per_package", json_integer(id.num_logical_cpus));
	json_object_set_new(o, "l1d_kb", cache_kb(id.l1_data_cache));
	json_object_set_new(o, "l1i_kb", cache_kb(id.l1_instruction_cache));
	json_object_set_new(o, "l2_kb", cache_kb(id.l2_cache));
	json_object_set_new(o, "l3_kb", cache_kb(id.l3_cache));
	json_object_set_new(o, "cache_line", cache_kb(id.l1_data_cacheline));
	json_t *flags = json_array();
	for (int f = 0; f < NUM_CPU_FEATURES && f < CPU_FLAGS_MAX; f++)
		if (id.flags[f])
			json_array_append_new(flags,
					      json_string(cpu_feature_str((cpu_feature_t)f)));
	json_object_set_new(o, "flags", flags);
	json_object_set_new(o, "libcpuid", json_string(cpuid_lib_version()));
	if (json_array_size(w))
		json_object_set_new(o, "libcpuid_warnings", w);
	else
		json_decref(w);
	return o;
}

/* Value of the first "key : value" line of /proc/cpuinfo; NULL if absent. */
static char *cpuinfo_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len == 0 && p != text)
			break; /* end of the first processor's block */
		if (!strncmp(p, key, kl) && (p[kl] == '\t' || p[kl] == ' ' || p[kl] == ':')) {
			const char *colon = memchr(p, ':', len);
			if (colon) {
				const char *v = colon + 1;
				while (*v == ' ' || *v == '\t')
					v++;
				return strndup(v, (size_t)(p + len - v));
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static json_t *words(const char *s)
{
	json_t *a = json_array();
	char *dup = strdup(s ? s : "");
	for (char *save = NULL, *t = strtok_r(dup, " \t", &save); t;
	     t = strtok_r(NULL, " \t", &save))
		json_array_append_new(a, json_string(t));
	free(dup);
	return a;
}

static bool has_word(const json_t *a, const char *w)
{
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) if (!strcmp(json_string_value(v), w)) return true;
	return false;
}

static json_t *cpuinfo(const char *root)
{
	char why[256];
	char *s = kq_fs_slurp(root, "/proc/cpuinfo", NULL, why, sizeof(why));
	if (!s)
		return kq_unknown("%s", why);
	json_t *o = json_object();
	static const struct {
		const char *key, *json;
		bool list;
	} f[] = {
	    {"vendor_id", "vendor", false},
	    {"model name", "model_name", false},
	    {"microcode", "microcode", false},
	    {"flags", "flags", true},
	    {"bugs", "bugs", true},
	    {"vmx flags", "vmx_flags", true},
	};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		char *v = cpuinfo_field(s, f[i].key);
		if (v)
			json_object_set_new(o, f[i].json, f[i].list ? words(v) : json_string(v));
		else
			json_object_set_new(o, f[i].json,
					    kq_unknown("/proc/cpuinfo: no '%s' line", f[i].key));
		free(v);
	}
	int n = 0;
	for (const char *p = s; (p = strstr(p, "processor")); p++)
		if (p == s || p[-1] == '\n')
			n++;
	json_object_set_new(o, "processors", json_integer(n));
	free(s);
	return o;
}

/* Hardware virtualization summary from CPUID (SVM) or "vmx flags" (VMX). */
static json_t *virt_summary(const struct kq_cpuid *c, bool have_cpuid, json_t *ci)
{
	json_t *flags = json_object_get(ci, "flags");
	json_t *vmxf = json_object_get(ci, "vmx_flags");
	bool vmx = (have_cpuid && kq_cpuid_has(c, "vmx") == 1) ||
		   (json_is_array(flags) && has_word(flags, "vmx"));
	bool svm = (have_cpuid && kq_cpuid_has(c, "svm") == 1) ||
		   (json_is_array(flags) && has_word(flags, "svm"));
	json_t *o = json_object();
	json_object_set_new(o, "extension", json_string(vmx ? "vmx" : svm ? "svm" : "none"));
	static const char *const keys[] = {
	    "nested_paging", "tagged_tlb", "unrestricted_guest", "apic_virtualization",
	    "tsc_scaling",   "pml",	   "posted_interrupts",	 NULL};
	if (vmx) {
		static const char *const vf[] = {"ept",		"vpid",	       "unrestricted_guest",
						 "apicv",	"tsc_scaling", "pml",
						 "posted_intr", NULL};
		json_object_set_new(o, "source", json_string("/proc/cpuinfo vmx flags"));
		for (int i = 0; keys[i]; i++)
			json_object_set_new(
			    o, keys[i],
			    json_is_array(vmxf)
				? json_boolean(has_word(vmxf, vf[i]))
				: kq_unknown("no 'vmx flags' in /proc/cpuinfo (kernel < 5.8, or "
					     "VMX off in firmware)"));
	} else if (svm && have_cpuid) {
		json_object_set_new(o, "source", json_string("CPUID 0x8000000A"));
		bool npt = kq_cpuid_has(c, "npt") == 1;
		json_object_set_new(o, "nested_paging", json_boolean(npt));
		json_object_set_new(o, "tagged_tlb",
				    json_boolean(kq_cpuid_reg(c, 0x8000000a, 0, KQ_EBX) > 1));
		json_object_set_new(o, "unrestricted_guest", json_boolean(npt));
		json_object_set_new(o, "apic_virtualization",
				    json_boolean(kq_cpuid_has(c, "avic") == 1));
		json_object_set_new(o, "tsc_scaling",
				    json_boolean(kq_cpuid_has(c, "tsc_scale") == 1));
		json_object_set_new(o, "pml", json_false());
		json_object_set_new(o, "posted_interrupts",
				    json_boolean(kq_cpuid_has(c, "avic") == 1));
	} else if (svm) {
		for (int i = 0; keys[i]; i++)
			json_object_set_new(o, keys[i],
					    kq_unknown("no CPUID data for SVM features"));
	}
	return o;
}

json_t *kq_probe_cpu(const char *root)
{
	struct kq_cpuid c = {0};
	char why[512] = "";
	bool have = false;
	json_t *o = json_object();
	if (kq_fs_is_live(root)) {
		have = kq_cpuid_read_live(&c) == 0;
		json_object_set_new(o, "source", json_string("live"));
		char *dump = kq_cpuid_format(&c);
		if (dump) {
			kq_fs_record_file("/kvmqual/cpuid.txt", dump, strlen(dump));
			free(dump);
		}
	} else {
		char *text = kq_fs_slurp(root, "/kvmqual/cpuid.txt", NULL, why, sizeof(why));
		if (text) {
			have = kq_cpuid_parse(&c, text, why, sizeof(why)) > 0;
			free(text);
		}
		json_object_set_new(o, "source", json_string("kvmqual/cpuid.txt"));
	}
	if (have) {
		json_t *id = identify(&c);
		if (kq_unknown_reason(id)) {
			json_object_set_new(o, "identification", id);
		} else {
			json_object_update(o, id);
			json_decref(id);
		}
		json_object_set_new(o, "cpuid", kq_cpuid_decode(&c));
	} else {
		json_object_set_new(o, "identification", kq_unknown("%s", why));
		json_object_set_new(o, "cpuid", kq_unknown("%s", why));
	}
	json_t *ci = cpuinfo(root);
	json_object_set_new(o, "virtualization", virt_summary(&c, have, ci));
	json_object_set_new(o, "cpuinfo", ci);
	kq_cpuid_free(&c);
	return o;
}
