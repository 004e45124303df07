/* Kernel and host configuration: version, command line, clocksource,
 * THP, hugepage pools, KSM, NUMA nodes, vulnerabilities, SMT, cpufreq. */
#include "probes/probe.h"
#include "probes/fs.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *kq_probe_kernel(const char *root)
{
	json_t *o = json_object();
	json_object_set_new(o, "release", kq_fs_json_str(root, "/proc/sys/kernel/osrelease"));
	json_object_set_new(o, "version", kq_fs_json_str(root, "/proc/version"));
	json_object_set_new(o, "cmdline", kq_fs_json_str(root, "/proc/cmdline"));
	json_object_set_new(o, "tainted", kq_fs_json_int(root, "/proc/sys/kernel/tainted"));

	json_t *cs = json_object();
	const char *csdir = "/sys/devices/system/clocksource/clocksource0";
	char path[256], buf[1024], why[256];
	snprintf(path, sizeof(path), "%s/current_clocksource", csdir);
	json_object_set_new(cs, "current", kq_fs_json_str(root, path));
	snprintf(path, sizeof(path), "%s/available_clocksource", csdir);
	if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0) {
		json_object_set_new(cs, "available", kq_unknown("%s", why));
	} else {
		json_t *a = json_array();
		for (char *t = strtok(buf, " \t\n"); t; t = strtok(NULL, " \t\n"))
			json_array_append_new(a, json_string(t));
		json_object_set_new(cs, "available", a);
	}
	json_object_set_new(o, "clocksource", cs);
	json_object_set_new(o, "isolated_cpus",
			    kq_fs_json_text(root, "/sys/devices/system/cpu/isolated"));
	json_object_set_new(o, "nohz_full",
			    kq_fs_json_text(root, "/sys/devices/system/cpu/nohz_full"));
	json_object_set_new(o, "online_cpus",
			    kq_fs_json_str(root, "/sys/devices/system/cpu/online"));
	return o;
}

/* "2048kB" directory suffix to "2M"; 0 when not a size. */
static unsigned long size_label(const char *dirname, char *label, size_t len)
{
	const char *p = strchr(dirname, '-');
	char *end;
	unsigned long kb = p ? strtoul(p + 1, &end, 10) : 0;
	if (!p || !kb || strcmp(end, "kB") != 0)
		return 0;
	if (kb % (1024 * 1024) == 0)
		snprintf(label, len, "%luG", kb / (1024 * 1024));
	else if (kb % 1024 == 0)
		snprintf(label, len, "%luM", kb / 1024);
	else
		snprintf(label, len, "%luK", kb);
	return kb;
}

static json_t *pools(const char *root, const char *dir, const char *const *files,
		     const char *const *keys)
{
	char **names, why[512];
	int n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n < 0)
		return kq_unknown("%s", why);
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		char label[32], path[512];
		unsigned long kb = size_label(names[i], label, sizeof(label));
		if (!kb)
			continue;
		json_t *p = json_pack("{s:I}", "size_kb", (json_int_t)kb);
		for (int f = 0; files[f]; f++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, names[i], files[f]);
			json_object_set_new(p, keys[f], kq_fs_json_int(root, path));
		}
		json_object_set_new(o, label, p);
	}
	kq_fs_free_list(names, n);
	return o;
}

static json_t *meminfo_kb(const char *root, const char *path, const char *field)
{
	char why[256];
	char *s = kq_fs_slurp(root, path, NULL, why, sizeof(why));
	if (!s)
		return kq_unknown("%s", why);
	json_t *r = NULL;
	size_t fl = strlen(field);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		/* /proc/meminfo: "MemTotal:  123 kB"; node meminfo: "Node 0 MemTotal: ..." */
		char *f = strstr(line, field);
		if (f && (f == line || f[-1] == ' ') && f[fl] == ':') {
			long long v;
			char w[128];
			char *num = f + fl + 1;
			char *kb = strstr(num, "kB");
			if (kb)
				*kb = '\0';
			r = kq_parse_i64(num, &v, w, sizeof(w)) == 0
				? json_integer(v)
				: kq_unknown("%s: %s: %s", path, field, w);
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (!r)
		r = kq_unknown("%s: no %s line", path, field);
	free(s);
	return r;
}

static json_t *hugetlbfs_mounts(const char *root)
{
	char why[256];
	char *s = kq_fs_slurp(root, "/proc/mounts", NULL, why, sizeof(why));
	if (!s)
		return kq_unknown("%s", why);
	json_t *a = json_array();
	for (char *save = NULL, *line = strtok_r(s, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char dev[256], mnt[512], type[64], opts[1024];
		if (sscanf(line, "%255s %511s %63s %1023s", dev, mnt, type, opts) != 4 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		const char *ps = strstr(opts, "pagesize=");
		char size[32] = "default";
		if (ps)
			sscanf(ps + 9, "%31[^,]", size);
		json_array_append_new(a, json_pack("{s:s,s:s}", "path", mnt, "pagesize", size));
	}
	free(s);
	return a;
}

json_t *kq_probe_memory(const char *root)
{
	json_t *o = json_object();
	json_object_set_new(o, "mem_total_kb", meminfo_kb(root, "/proc/meminfo", "MemTotal"));

	const char *thp = "/sys/kernel/mm/transparent_hugepage";
	char path[512];
	json_t *t = json_object();
	snprintf(path, sizeof(path), "%s/enabled", thp);
	json_object_set_new(t, "enabled", kq_fs_json_choice(root, path));
	snprintf(path, sizeof(path), "%s/defrag", thp);
	json_object_set_new(t, "defrag", kq_fs_json_choice(root, path));
	snprintf(path, sizeof(path), "%s/shmem_enabled", thp);
	json_object_set_new(t, "shmem_enabled", kq_fs_json_choice(root, path));
	snprintf(path, sizeof(path), "%s/hpage_pmd_size", thp);
	json_object_set_new(t, "hpage_pmd_size", kq_fs_json_int(root, path));
	snprintf(path, sizeof(path), "%s/khugepaged/defrag", thp);
	json_object_set_new(t, "khugepaged_defrag", kq_fs_json_int(root, path));
	json_object_set_new(o, "thp", t);

	static const char *const gfiles[] = {
	    "nr_hugepages",	 "free_hugepages",	    "resv_hugepages",
	    "surplus_hugepages", "nr_overcommit_hugepages", NULL};
	static const char *const gkeys[] = {"total",   "free",	     "reserved",
					    "surplus", "overcommit", NULL};
	json_object_set_new(o, "hugepages", pools(root, "/sys/kernel/mm/hugepages", gfiles, gkeys));

	static const char *const nfiles[] = {"nr_hugepages", "free_hugepages", "surplus_hugepages",
					     NULL};
	static const char *const nkeys[] = {"total", "free", "surplus", NULL};
	char **names, why[512];
	json_t *nodes = json_object();
	int n = kq_fs_list(root, "/sys/devices/system/node", &names, why, sizeof(why));
	if (n < 0) {
		json_decref(nodes);
		nodes = kq_unknown("%s", why);
	}
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i], "node", 4) || !isdigit((unsigned char)names[i][4]))
			continue;
		json_t *nd = json_object();
		snprintf(path, sizeof(path), "/sys/devices/system/node/%s/cpulist", names[i]);
		json_object_set_new(nd, "cpulist", kq_fs_json_str(root, path));
		snprintf(path, sizeof(path), "/sys/devices/system/node/%s/meminfo", names[i]);
		json_object_set_new(nd, "mem_total_kb", meminfo_kb(root, path, "MemTotal"));
		snprintf(path, sizeof(path), "/sys/devices/system/node/%s/hugepages", names[i]);
		json_object_set_new(nd, "hugepages", pools(root, path, nfiles, nkeys));
		json_object_set_new(nodes, names[i], nd);
	}
	if (n >= 0)
		kq_fs_free_list(names, n);
	json_object_set_new(o, "numa_nodes", nodes);
	json_object_set_new(o, "hugetlbfs_mounts", hugetlbfs_mounts(root));

	json_t *k = json_object();
	static const char *const ksm[] = {"run",
					  "pages_to_scan",
					  "sleep_millisecs",
					  "pages_shared",
					  "pages_sharing",
					  "merge_across_nodes",
					  "use_zero_pages",
					  "max_page_sharing",
					  NULL};
	for (int i = 0; ksm[i]; i++) {
		snprintf(path, sizeof(path), "/sys/kernel/mm/ksm/%s", ksm[i]);
		json_object_set_new(k, ksm[i], kq_fs_json_int(root, path));
	}
	json_object_set_new(o, "ksm", k);
	return o;
}

const char *kq_vuln_class(const char *text)
{
	if (!text)
		return "unparsed";
	while (isspace((unsigned char)*text))
		text++;
	if (!strncmp(text, "Not affected", 12))
		return "not-affected";
	if (!strncmp(text, "Mitigation", 10))
		return "mitigated";
	if (!strncmp(text, "Vulnerable", 10))
		return "vulnerable";
	if (!strncmp(text, "Unknown", 7))
		return "unknown";
	/* itlb_multihit: "KVM: Mitigation: ...", "KVM: Vulnerable" */
	if (!strncmp(text, "KVM: Mitigation", 15))
		return "mitigated";
	if (!strncmp(text, "KVM: Vulnerable", 15) || !strncmp(text, "Processor vulnerable", 20))
		return "vulnerable";
	return "unparsed";
}

json_t *kq_probe_vulnerabilities(const char *root)
{
	const char *dir = "/sys/devices/system/cpu/vulnerabilities";
	char **names, why[512];
	int n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n < 0)
		return kq_unknown("%s", why);
	json_t *o = json_object();
	for (int i = 0; i < n; i++) {
		char path[512], buf[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) < 0) {
			json_object_set_new(o, names[i],
					    json_pack("{s:n,s:s,s:s}", "value", "class",
						      "unreadable", "unknown", why));
			continue;
		}
		const char *cls = kq_vuln_class(buf);
		json_t *e = json_pack("{s:s,s:s}", "value", buf, "class", cls);
		if (!strcmp(cls, "unparsed"))
			json_object_set_new(
			    e, "unknown",
			    json_sprintf("%s: %s", path, buf[0] ? "unrecognised text" : "empty"));
		json_object_set_new(o, names[i], e);
	}
	kq_fs_free_list(names, n);
	return o;
}

json_t *kq_probe_smt(const char *root)
{
	return json_pack("{s:o,s:o}", "control",
			 kq_fs_json_str(root, "/sys/devices/system/cpu/smt/control"), "active",
			 kq_fs_json_bool(root, "/sys/devices/system/cpu/smt/active"));
}

json_t *kq_probe_cpufreq(const char *root)
{
	const char *dir = "/sys/devices/system/cpu/cpufreq";
	char **names, why[512], path[512], buf[256];
	int n = kq_fs_list(root, dir, &names, why, sizeof(why));
	if (n < 0)
		return kq_unknown("%s", why);
	json_t *o = json_object(), *govs = json_object();
	json_t *driver = NULL, *minf = NULL, *maxf = NULL;
	int npol = 0, unreadable = 0;
	for (int i = 0; i < n; i++) {
		if (strncmp(names[i], "policy", 6))
			continue;
		npol++;
		snprintf(path, sizeof(path), "%s/%s/scaling_governor", dir, names[i]);
		if (kq_fs_read(root, path, buf, sizeof(buf), why, sizeof(why)) <= 0) {
			unreadable++;
		} else {
			json_t *c = json_object_get(govs, buf);
			json_object_set_new(govs, buf,
					    json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		if (!driver) {
			snprintf(path, sizeof(path), "%s/%s/scaling_driver", dir, names[i]);
			driver = kq_fs_json_str(root, path);
			snprintf(path, sizeof(path), "%s/%s/cpuinfo_min_freq", dir, names[i]);
			minf = kq_fs_json_int(root, path);
			snprintf(path, sizeof(path), "%s/%s/cpuinfo_max_freq", dir, names[i]);
			maxf = kq_fs_json_int(root, path);
		}
	}
	kq_fs_free_list(names, n);
	if (!npol) {
		json_decref(o);
		json_decref(govs);
		return kq_unknown("%s: no cpufreq policies (no cpufreq driver)", dir);
	}
	json_object_set_new(o, "policies", json_integer(npol));
	json_object_set_new(o, "driver", driver);
	json_object_set_new(o, "cpuinfo_min_khz", minf);
	json_object_set_new(o, "cpuinfo_max_khz", maxf);
	size_t ngov = json_object_size(govs);
	json_object_set_new(o, "governor",
			    ngov == 1 ? json_string(json_object_iter_key(json_object_iter(govs)))
			    : ngov    ? json_string("mixed")
				      : kq_unknown("no readable scaling_governor"));
	json_object_set_new(o, "governors", govs);
	if (unreadable)
		json_object_set_new(o, "unreadable_governors", json_integer(unreadable));

	/* boost: acpi-cpufreq/amd-pstate "boost", or intel_pstate "no_turbo" */
	snprintf(path, sizeof(path), "%s/boost", dir);
	json_t *boost = kq_fs_json_bool(root, path);
	if (kq_unknown_reason(boost)) {
		json_t *nt = kq_fs_json_bool(root, "/sys/devices/system/cpu/intel_pstate/no_turbo");
		if (json_is_boolean(nt)) {
			json_decref(boost);
			boost = json_boolean(!json_is_true(nt));
		}
		json_decref(nt);
	}
	json_object_set_new(o, "boost", boost);
	return o;
}
