/* The host fingerprint and `kvmqual probe`. */
#include "probes/probe.h"
#include "probes/cpuid.h"
#include "probes/fs.h"
#include "probes/kvm_caps.h"
#include "probes/topology.h"

#include <cpuid.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *kq_probe_environment(void)
{
	const char *env = getenv("KVMQUAL_ENV");
	if (env && !strcmp(env, "emulated"))
		return "emulated";
	unsigned a, b, c, d;
	__cpuid(1, a, b, c, d);
	return (c & (1u << 31)) ? "nested" : "bare-metal";
}

const char *kq_probe_environment_at(const char *root)
{
	if (kq_fs_is_live(root))
		return kq_probe_environment();
	char buf[64];
	if (kq_fs_read(root, "/kvmqual/environment", buf, sizeof(buf), NULL, 0) > 0) {
		static const char *const known[] = {"emulated", "nested", "bare-metal"};
		for (int i = 0; i < 3; i++)
			if (!strcmp(buf, known[i]))
				return known[i];
	}
	char *text = kq_fs_slurp(root, "/kvmqual/cpuid.txt", NULL, NULL, 0);
	if (!text)
		return "unknown";
	struct kq_cpuid c = {0};
	const char *r = "unknown";
	if (kq_cpuid_parse(&c, text, NULL, 0) > 0)
		r = kq_cpuid_has(&c, "hypervisor") == 1 ? "nested" : "bare-metal";
	kq_cpuid_free(&c);
	free(text);
	return r;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

json_t *kq_probe_host(const char *root)
{
	double t0 = now_ms();
	bool live = kq_fs_is_live(root);
	json_t *fp = json_object();
	if (!fp)
		return NULL;
	json_object_set_new(fp, "fingerprint_version", json_integer(KQ_FINGERPRINT_VERSION));
	json_object_set_new(fp, "source",
			    live ? json_string("live") : json_sprintf("recorded:%s", root));
	json_object_set_new(fp, "hostname", kq_fs_json_str(root, "/proc/sys/kernel/hostname"));
	const char *env = kq_probe_environment_at(root);
	json_object_set_new(fp, "environment", json_string(env));
	if (live) {
		char ts[64];
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_object_set_new(fp, "probed_at", json_string(ts));
		kq_fs_record_file("/kvmqual/environment", env, strlen(env));
	}
	json_object_set_new(fp, "cpu", kq_probe_cpu(root));
	json_object_set_new(fp, "topology", kq_probe_topology(root));
	json_object_set_new(fp, "kvm", kq_probe_kvm(root));
	json_object_set_new(fp, "paging", kq_probe_paging(root));
	json_object_set_new(fp, "kernel", kq_probe_kernel(root));
	json_object_set_new(fp, "memory", kq_probe_memory(root));
	json_object_set_new(fp, "vulnerabilities", kq_probe_vulnerabilities(root));
	json_object_set_new(fp, "smt", kq_probe_smt(root));
	json_object_set_new(fp, "cpufreq", kq_probe_cpufreq(root));
	json_object_set_new(fp, "probe_ms", json_real((double)(long)((now_ms() - t0) * 10) / 10));
	return fp;
}

json_t *kq_probe_get(json_t *fp, const char *path)
{
	char key[128];
	json_t *cur = fp;
	while (cur && *path) {
		size_t n = strcspn(path, ".");
		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		cur = json_is_object(cur) ? json_object_get(cur, key) : NULL;
		path += n;
		if (*path == '.')
			path++;
	}
	return cur;
}

/* ---- human summary ---------------------------------------------------- */

static void text_of(json_t *v, char *out, size_t len)
{
	const char *u = kq_unknown_reason(v);
	if (!v) {
		snprintf(out, len, "-");
	} else if (u) {
		snprintf(out, len, "unknown (%s)", u);
	} else if (json_is_string(v)) {
		snprintf(out, len, "%s", json_string_value(v));
	} else if (json_is_object(v) && json_is_string(json_object_get(v, "selected"))) {
		snprintf(out, len, "%s", json_string_value(json_object_get(v, "selected")));
	} else if (json_is_object(v) && json_object_get(v, "value")) {
		text_of(json_object_get(v, "value"), out, len);
	} else if (json_is_array(v)) {
		size_t i, w = 0;
		json_t *e;
		out[0] = '\0';
		json_array_foreach(v, i, e)
		{
			char b[128];
			text_of(e, b, sizeof(b));
			if (w + strlen(b) + 2 >= len)
				break;
			w += (size_t)snprintf(out + w, len - w, "%s%s", i ? " " : "", b);
		}
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		snprintf(out, len, "%s", s ? s : "?");
		free(s);
	}
}

static void row(const char *label, json_t *v)
{
	char b[4096];
	text_of(v, b, sizeof(b));
	printf("  %-26s %s\n", label, b);
}

static void rowp(json_t *fp, const char *label, const char *path)
{
	row(label, kq_probe_get(fp, path));
}

static void print_summary(json_t *fp)
{
	printf("Host\n");
	rowp(fp, "hostname", "hostname");
	rowp(fp, "environment", "environment");
	rowp(fp, "kernel", "kernel.release");
	rowp(fp, "cmdline", "kernel.cmdline");
	rowp(fp, "clocksource", "kernel.clocksource.current");

	printf("\nCPU\n");
	json_t *cpu = json_object_get(fp, "cpu");
	if (kq_unknown_reason(json_object_get(cpu, "identification")) &&
	    json_object_get(cpu, "identification")) {
		rowp(fp, "identification", "cpu.identification");
	} else {
		rowp(fp, "vendor", "cpu.vendor");
		rowp(fp, "brand", "cpu.brand");
		char fms[128];
		snprintf(fms, sizeof(fms), "%lld / %lld / %lld",
			 (long long)json_integer_value(kq_probe_get(fp, "cpu.family")),
			 (long long)json_integer_value(kq_probe_get(fp, "cpu.model")),
			 (long long)json_integer_value(kq_probe_get(fp, "cpu.stepping")));
		printf("  %-26s %s\n", "family / model / stepping", fms);
		rowp(fp, "codename", "cpu.codename");
		rowp(fp, "cores / package", "cpu.cores_per_package");
		rowp(fp, "threads / package", "cpu.logical_per_package");
		rowp(fp, "L2 KiB", "cpu.l2_kb");
		rowp(fp, "L3 KiB", "cpu.l3_kb");
	}
	rowp(fp, "hypervisor", "cpu.cpuid.hypervisor.vendor");
	rowp(fp, "speculation controls", "cpu.cpuid.speculation");
	rowp(fp, "virtualization", "cpu.virtualization.extension");
	json_t *virt = kq_probe_get(fp, "cpu.virtualization");
	const char *k;
	json_t *v;
	json_object_foreach(virt, k, v)
	{
		if (strcmp(k, "extension") && strcmp(k, "source")) {
			char label[64];
			snprintf(label, sizeof(label), "  %s", k);
			row(label, v);
		}
	}
	rowp(fp, "SVM features", "cpu.cpuid.svm.features");
	rowp(fp, "memory encryption", "cpu.cpuid.memory_encryption.features");

	printf("\nTopology\n");
	json_t *topo = json_object_get(fp, "topology");
	if (kq_unknown_reason(topo)) {
		row("hwloc", topo);
	} else {
		static const char *const tk[] = {
		    "packages", "numa_nodes",  "l3_domains",	   "cores",
		    "pus",	"allowed_pus", "threads_per_core", NULL};
		for (int i = 0; tk[i]; i++)
			row(tk[i], json_object_get(topo, tk[i]));
		json_t *pl = json_object_get(topo, "placements_for_2");
		char b[512] = "";
		size_t w = 0;
		json_object_foreach(pl, k, v) if (json_is_true(v) && w + strlen(k) + 2 < sizeof(b))
		    w += (size_t)snprintf(b + w, sizeof(b) - w, "%s%s", w ? " " : "", k);
		printf("  %-26s %s\n", "placements (2 vCPUs)", b);
	}

	printf("\nKVM\n");
	json_t *kvm = json_object_get(fp, "kvm");
	if (!json_is_true(json_object_get(kvm, "available"))) {
		char b[512];
		text_of(json_object_get(kvm, "unknown"), b, sizeof(b));
		printf("  %-26s no: %s\n", "/dev/kvm", b);
	} else {
		rowp(fp, "API version", "kvm.api_version");
		json_t *caps = json_object_get(kvm, "capabilities");
		size_t n;
		const struct kq_kvm_cap *tab = kq_kvm_caps(&n);
		for (size_t i = 0; i < n; i++) {
			json_t *cv = json_object_get(caps, tab[i].name);
			if (!cv)
				continue;
			char b[256];
			text_of(cv, b, sizeof(b));
			printf("  %-26s %-10s %s\n", tab[i].name, b, tab[i].what);
		}
		rowp(fp, "supported CPUID entries", "kvm.supported_cpuid.entries");
		json_t *msrs = kq_probe_get(fp, "kvm.msr_index_list");
		if (json_is_array(msrs))
			printf("  %-26s %zu\n", "MSR index list", json_array_size(msrs));
		else
			row("MSR index list", msrs);
	}
	rowp(fp, "vendor module", "kvm.vendor_module");
	json_t *mods = json_object_get(kvm, "modules");
	json_object_foreach(mods, k, v)
	{
		if (!json_is_true(json_object_get(v, "loaded")))
			continue;
		json_t *params = json_object_get(v, "parameters");
		if (kq_unknown_reason(params)) {
			char label[96];
			snprintf(label, sizeof(label), "%s parameters", k);
			row(label, params);
			continue;
		}
		const char *pk;
		json_t *pv;
		json_object_foreach(params, pk, pv)
		{
			char label[96];
			snprintf(label, sizeof(label), "%s.%s", k, pk);
			row(label, pv);
		}
	}

	printf("\nMemory\n");
	rowp(fp, "MemTotal kB", "memory.mem_total_kb");
	rowp(fp, "THP enabled", "memory.thp.enabled");
	rowp(fp, "THP defrag", "memory.thp.defrag");
	json_t *hp = kq_probe_get(fp, "memory.hugepages");
	if (kq_unknown_reason(hp))
		row("hugepages", hp);
	json_object_foreach(hp, k, v)
	{
		if (!json_is_object(v) || !json_object_get(v, "size_kb"))
			continue;
		char label[64], b1[64], b2[64];
		snprintf(label, sizeof(label), "hugepages %s total/free", k);
		text_of(json_object_get(v, "total"), b1, sizeof(b1));
		text_of(json_object_get(v, "free"), b2, sizeof(b2));
		printf("  %-26s %s / %s\n", label, b1, b2);
	}
	json_t *nodes = kq_probe_get(fp, "memory.numa_nodes");
	json_object_foreach(nodes, k, v)
	{
		const char *sk;
		json_t *sv;
		json_object_foreach(json_object_get(v, "hugepages"), sk, sv)
		{
			if (!json_is_object(sv) || !json_object_get(sv, "size_kb"))
				continue;
			char label[64], b1[64], b2[64];
			snprintf(label, sizeof(label), "  %s %s total/free", k, sk);
			text_of(json_object_get(sv, "total"), b1, sizeof(b1));
			text_of(json_object_get(sv, "free"), b2, sizeof(b2));
			printf("  %-26s %s / %s\n", label, b1, b2);
		}
	}
	json_t *mounts = kq_probe_get(fp, "memory.hugetlbfs_mounts");
	if (!json_is_array(mounts)) {
		row("hugetlbfs mounts", mounts);
	} else {
		char b[1024] = "";
		size_t i, w = 0;
		json_array_foreach(mounts, i, v) if (w + 80 < sizeof(b)) w +=
		    (size_t)snprintf(b + w, sizeof(b) - w, "%s%s (%s)", i ? ", " : "",
				     json_string_value(json_object_get(v, "path")),
				     json_string_value(json_object_get(v, "pagesize")));
		printf("  %-26s %s\n", "hugetlbfs mounts", json_array_size(mounts) ? b : "none");
	}
	rowp(fp, "KSM run", "memory.ksm.run");
	rowp(fp, "SMT control", "smt.control");
	rowp(fp, "SMT active", "smt.active");
	json_t *cf = json_object_get(fp, "cpufreq");
	if (kq_unknown_reason(cf)) {
		row("cpufreq", cf);
	} else {
		rowp(fp, "cpufreq driver", "cpufreq.driver");
		rowp(fp, "cpufreq governor", "cpufreq.governor");
		rowp(fp, "boost", "cpufreq.boost");
	}

	printf("\nVulnerabilities\n");
	json_t *vu = json_object_get(fp, "vulnerabilities");
	if (kq_unknown_reason(vu))
		row("vulnerabilities", vu);
	json_object_foreach(vu, k, v)
	{
		char b[1024];
		text_of(v, b, sizeof(b));
		printf("  %-26s %-12s %s\n", k, json_string_value(json_object_get(v, "class")), b);
	}
	printf("\nprobed in %.1f ms\n", json_real_value(json_object_get(fp, "probe_ms")));
}

/* A recorded tree has the layout `probe --record` writes (docs/probes.md,
 * Recorded trees): a folder that lacks it would print every fact unknown. */
static int check_recorded_tree(const char *root)
{
	static const char *const parts[] = {"proc", "sys", "kvmqual"};
	char missing[64] = "";
	struct stat st;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmqual probe: --root %s: not a directory\n", root);
		return -1;
	}
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/%s", root, parts[i]);
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
			snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
				 "%s%s/", missing[0] ? ", " : "", parts[i]);
	}
	if (!missing[0])
		return 0;
	fprintf(stderr,
		"kvmqual probe: --root %s: not a recorded tree: no %s in it (a tree from "
		"`kvmqual probe --record DIR` holds proc/, sys/ and kvmqual/)\n",
		root, missing);
	return -1;
}

/* The folder that --record fills: created if absent, and a folder. */
static int open_record_dir(const char *record)
{
	struct stat st;
	if (mkdir(record, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "kvmqual probe: --record %s: %s\n", record, strerror(errno));
		return -1;
	}
	if (stat(record, &st) < 0) {
		fprintf(stderr, "kvmqual probe: --record %s: %s\n", record, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "kvmqual probe: --record %s: exists and is not a folder\n", record);
		return -1;
	}
	kq_fs_record_to(record);
	return 0;
}

/* After recording: every file written, and at least one. */
static int record_outcome(const char *record)
{
	int written;
	const char *first;
	int failed = kq_fs_record_result(&written, &first);
	kq_fs_record_to(NULL);
	if (failed)
		fprintf(stderr,
			"kvmqual probe: --record %s: %d file(s) could not be written; first: %s\n",
			record, failed, first);
	else if (!written)
		fprintf(stderr, "kvmqual probe: --record %s: nothing was recorded\n", record);
	return failed || !written ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmqual probe [--json] [--root DIR] [--record DIR]\n"
		   "  Prints what kvmqual knows about this host: CPU, topology, KVM, kernel and\n"
		   "  memory configuration, CPU vulnerabilities.\n"
		   "  --json        the JSON fingerprint (as written into results.json)\n"
		   "  --root DIR    read a recorded tree instead of the live host\n"
		   "  --record DIR  also copy every file read into DIR (a new fixture tree)\n");
}

int kq_probe_main(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
					     {"root", required_argument, NULL, 'r'},
					     {"record", required_argument, NULL, 'R'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	bool json = false;
	const char *root = "", *record = NULL;
	int c;
	optind = 0; /* full reset: kq_probe_main may run more than once */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+jr:R:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			root = optarg;
			break;
		case 'R':
			record = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "kvmqual probe: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual probe: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!kq_fs_is_live(root) && check_recorded_tree(root) < 0)
		return 2;
	if (record) {
		if (!kq_fs_is_live(root)) {
			fprintf(stderr,
				"kvmqual probe: --record reads the live host; drop --root\n");
			return 2;
		}
		if (open_record_dir(record) < 0)
			return 2;
	}
	json_t *fp = kq_probe_host(root);
	if (record && record_outcome(record) < 0) {
		json_decref(fp);
		return 3;
	}
	if (!fp) {
		fprintf(stderr, "kvmqual probe: out of memory\n");
		return 1;
	}
	if (json) {
		json_dumpf(fp, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_summary(fp);
	}
	json_decref(fp);
	return 0;
}
