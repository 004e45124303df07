/* The whole fingerprint over recorded trees (exact values), the broken tree
 * (unknown markers with reasons, never a crash), the live host (time), and
 * `kvmqual probe` usage. */
#include "probes/probe.h"
#include "probes/fs.h"
#include "tests/tap.h"
#include "tests/unit/test_probe_fixture.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static json_t *fp;

static json_t *at(const char *path)
{
	return kq_probe_get(fp, path);
}

static const char *str(const char *path)
{
	json_t *v = at(path);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long num(const char *path)
{
	json_t *v = at(path);
	return json_is_integer(v) ? json_integer_value(v) : -999;
}

static const char *why(const char *path)
{
	json_t *v = at(path);
	return v ? kq_unknown_reason(v) : "(absent)";
}

static bool arr_has(const char *path, const char *w)
{
	size_t i;
	json_t *v;
	json_array_foreach(at(path), i, v) if (!strcmp(json_string_value(v), w)) return true;
	return false;
}

static void intel(void)
{
	fp = kq_probe_host(fixture("intel-kvm-host"));
	ok(fp != NULL, "intel: fingerprint");
	is_int(num("fingerprint_version"), 1, "version 1");
	has_substr(str("source"), "recorded:", "source names the tree");
	is_str(str("hostname"), "qual-xeon-01", "hostname");
	is_str(str("environment"), "bare-metal", "environment from the recorded file");
	ok(at("probed_at") == NULL, "no probe time for a recorded tree");
	/* cpu */
	is_str(str("cpu.vendor"), "GenuineIntel", "cpu vendor");
	is_str(str("cpu.brand"), "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", "cpu brand");
	is_int(num("cpu.family"), 6, "family");
	is_int(num("cpu.model"), 85, "model");
	is_int(num("cpu.stepping"), 7, "stepping");
	is_str(str("cpu.codename"), "Skylake (Xeon Scalable)", "codename as libcpuid 0.6 names it");
	is_int(num("cpu.cores_per_package"), 4, "cores per package");
	is_int(num("cpu.logical_per_package"), 8, "threads per package");
	is_int(num("cpu.l1d_kb"), 32, "L1d");
	is_int(num("cpu.l2_kb"), 1024, "L2");
	is_int(num("cpu.l3_kb"), 25344, "L3");
	ok(arr_has("cpu.flags", "avx512f"), "libcpuid flags");
	is_str(str("cpu.virtualization.extension"), "vmx", "VMX");
	ok(json_is_true(at("cpu.virtualization.nested_paging")), "EPT from vmx flags");
	ok(json_is_true(at("cpu.virtualization.pml")), "PML from vmx flags");
	ok(json_is_true(at("cpu.virtualization.tsc_scaling")), "TSC scaling from vmx flags");
	is_int(num("cpu.cpuinfo.processors"), 16, "16 processors in cpuinfo");
	ok(arr_has("cpu.cpuinfo.bugs", "itlb_multihit"), "cpuinfo bugs");
	ok(arr_has("cpu.cpuid.speculation", "arch_capabilities"), "decoded leaf 7");
	/* topology */
	is_int(num("topology.packages"), 2, "2 packages");
	is_int(num("topology.numa_nodes"), 2, "2 NUMA nodes");
	is_int(num("topology.l3_domains"), 2, "2 L3 domains");
	is_int(num("topology.pus"), 16, "16 PUs");
	is_int(num("topology.threads_per_core"), 2, "SMT 2");
	ok(json_is_true(at("topology.placements_for_2.different-package")),
	   "different-package placement offered");
	/* kvm */
	ok(json_is_true(at("kvm.available")), "KVM recorded");
	is_int(num("kvm.api_version"), 12, "API 12");
	is_int(num("kvm.capabilities.TSC_CONTROL"), 1, "TSC_CONTROL");
	is_int(num("kvm.capabilities.BUS_LOCK_EXIT"), 3, "BUS_LOCK_EXIT modes");
	is_int(num("kvm.capabilities.GUEST_MEMFD"), 0, "no guest_memfd on 6.1");
	is_int(num("kvm.supported_cpuid.entries"), 9, "9 supported CPUID entries");
	ok(arr_has("kvm.supported_cpuid.features", "pdpe1gb"), "KVM offers 1G pages");
	is_int(json_array_size(at("kvm.msr_index_list")), 18, "MSR index list");
	is_str(str("kvm.vendor_module"), "kvm_intel", "vendor module");
	is_str(str("kvm.modules.kvm_intel.parameters.ept"), "Y", "kvm_intel.ept");
	is_str(str("kvm.modules.kvm_intel.parameters.vmentry_l1d_flush"), "not required",
	       "text parameter");
	is_str(str("kvm.modules.kvm.parameters.nx_huge_pages"), "N", "kvm.nx_huge_pages");
	ok(json_is_false(at("kvm.modules.kvm_amd.loaded")), "kvm_amd not loaded");
	has_substr(why("kvm.modules.kvm_amd"), "/sys/module/kvm_amd: No such file",
		   "kvm_amd: reason");
	/* kernel */
	is_str(str("kernel.release"), "6.1.0-18-amd64", "release");
	has_substr(str("kernel.cmdline"), "hugepagesz=1G", "cmdline");
	is_int(num("kernel.tainted"), 0, "untainted");
	is_str(str("kernel.clocksource.current"), "tsc", "clocksource");
	is_int(json_array_size(at("kernel.clocksource.available")), 3, "3 clocksources");
	is_str(str("kernel.isolated_cpus"), "", "no isolated CPUs (empty file)");
	/* memory */
	is_int(num("memory.mem_total_kb"), 131072000, "MemTotal");
	is_str(str("memory.thp.enabled.selected"), "always", "THP always");
	is_str(str("memory.thp.shmem_enabled.selected"), "never", "shmem THP never");
	is_int(num("memory.hugepages.2M.total"), 1024, "2M total");
	is_int(num("memory.hugepages.2M.free"), 1000, "2M free");
	is_int(num("memory.hugepages.2M.size_kb"), 2048, "2M size");
	is_int(num("memory.hugepages.1G.total"), 4, "1G total");
	is_int(num("memory.numa_nodes.node0.hugepages.2M.free"), 488, "node0 2M free");
	is_int(num("memory.numa_nodes.node1.hugepages.1G.total"), 2, "node1 1G total");
	is_str(str("memory.numa_nodes.node1.cpulist"), "4-7,12-15", "node1 CPUs");
	is_int(num("memory.numa_nodes.node1.mem_total_kb"), 65536000, "node1 memory");
	is_int(json_array_size(at("memory.hugetlbfs_mounts")), 2, "two hugetlbfs mounts");
	is_str(json_string_value(
		   json_object_get(json_array_get(at("memory.hugetlbfs_mounts"), 1), "pagesize")),
	       "1024M", "1G mount page size");
	is_int(num("memory.ksm.run"), 1, "KSM on");
	is_int(num("memory.ksm.pages_sharing"), 5400, "KSM sharing");
	/* vulnerabilities, smt, cpufreq */
	is_int(json_object_size(at("vulnerabilities")), 13, "13 vulnerability files");
	is_str(str("vulnerabilities.mmio_stale_data.class"), "vulnerable", "mmio_stale_data");
	is_str(str("vulnerabilities.itlb_multihit.class"), "vulnerable", "KVM: Vulnerable");
	is_str(str("vulnerabilities.retbleed.class"), "mitigated", "retbleed mitigated");
	is_str(str("vulnerabilities.l1tf.class"), "not-affected", "l1tf not affected");
	is_str(str("smt.control"), "on", "SMT on");
	ok(json_is_true(at("smt.active")), "SMT active");
	is_int(num("cpufreq.policies"), 16, "16 policies");
	is_str(str("cpufreq.governor"), "mixed", "mixed governors");
	is_int(num("cpufreq.governors.performance"), 14, "14 performance");
	is_int(num("cpufreq.governors.powersave"), 2, "2 powersave");
	is_str(str("cpufreq.driver"), "intel_pstate", "intel_pstate");
	is_int(num("cpufreq.cpuinfo_max_khz"), 3900000, "max frequency");
	ok(json_is_true(at("cpufreq.boost")), "boost on (intel_pstate no_turbo=0)");
	char *s = json_dumps(fp, 0);
	ok(s != NULL, "serialises");
	free(s);
	json_decref(fp);
}

static void amd(void)
{
	fp = kq_probe_host(fixture("amd-pvm-host"));
	is_str(str("environment"), "nested", "amd: nested");
	is_str(str("cpu.vendor"), "AuthenticAMD", "amd: vendor");
	is_int(num("cpu.family"), 26, "amd: family 26");
	is_str(str("cpu.cpuid.hypervisor.vendor"), "KVM", "amd: under KVM");
	is_str(str("cpu.virtualization.extension"), "none", "amd: no SVM visible");
	is_str(str("kvm.vendor_module"), "kvm_pvm", "amd: KVM through kvm_pvm");
	is_int(num("kvm.capabilities.MSR_FILTER"), 1, "amd: MSR_FILTER");
	is_int(num("kvm.capabilities.TSC_CONTROL"), 0, "amd: no TSC_CONTROL");
	is_int(num("kvm.capabilities.NR_MEMSLOTS"), 32764, "amd: memslots");
	is_str(str("kvm.modules.kvm.parameters.tdp_mmu"), "N", "amd: tdp_mmu=N");
	is_str(str("memory.thp.enabled.selected"), "madvise", "amd: THP madvise");
	is_int(num("memory.hugepages.2M.total"), 0, "amd: no 2M pages");
	is_int(json_array_size(at("memory.hugetlbfs_mounts")), 0, "amd: no hugetlbfs");
	is_str(str("vulnerabilities.spec_store_bypass.value"), "Vulnerable", "amd: SSB text");
	is_str(str("smt.control"), "notsupported", "amd: SMT notsupported");
	ok(json_is_false(at("smt.active")), "amd: SMT inactive");
	has_substr(why("cpufreq"), "no cpufreq policies", "amd: no cpufreq, with reason");
	is_int(num("topology.pus"), 2, "amd: 2 PUs");
	json_decref(fp);
}

static void emulated(void)
{
	fp = kq_probe_host(fixture("emulated-svm-host"));
	is_str(str("environment"), "emulated", "emu: recorded as emulated");
	is_str(str("cpu.brand"), "QEMU TCG CPU version 2.5+", "emu: TCG CPU");
	is_str(str("cpu.cpuid.hypervisor.vendor"), "QEMU TCG", "emu: TCG signature");
	is_str(str("cpu.virtualization.extension"), "svm", "emu: SVM");
	ok(json_is_true(at("cpu.virtualization.nested_paging")), "emu: NPT from 0x8000000A");
	ok(json_is_false(at("cpu.virtualization.apic_virtualization")), "emu: no AVIC");
	is_int(num("cpu.cpuid.svm.asids"), 16, "emu: 16 ASIDs");
	is_str(str("kvm.vendor_module"), "kvm_amd", "emu: kvm_amd");
	is_str(str("kvm.modules.kvm_amd.parameters.npt"), "Y", "emu: npt=Y");
	is_str(str("kvm.modules.kvm_amd.parameters.nrips"), "0", "emu: nrips=0");
	is_int(num("kvm.capabilities.NESTED_STATE"), 4224, "emu: nested state size");
	is_int(num("kvm.capabilities.DIRTY_LOG_RING"), 1048576, "emu: dirty ring of 1 MiB");
	is_int(num("kvm.capabilities.TSC_CONTROL"), 0, "emu: no TSC scaling");
	ok(arr_has("kvm.supported_cpuid.features", "pdpe1gb"), "emu: KVM offers 1G pages");
	ok(!arr_has("cpu.cpuinfo.flags", "constant_tsc"), "emu: no constant_tsc");
	is_str(str("kernel.clocksource.current"), "hpet", "emu: hpet clocksource");
	is_str(str("kernel.release"), "6.1.0-56-amd64", "emu: Debian kernel");
	is_str(str("memory.thp.enabled.selected"), "always", "emu: THP always");
	json_decref(fp);
}

static void broken(void)
{
	fp = kq_probe_host(fixture("broken"));
	ok(fp != NULL, "broken: fingerprint still made");
	is_str(str("environment"), "unknown", "broken: environment unknown");
	has_substr(why("hostname"), "No such file", "broken: hostname missing");
	is_str(why("kernel.release"), "/proc/sys/kernel/osrelease: empty", "broken: empty release");
	is_str(why("kernel.cmdline"), "/proc/cmdline: is a directory", "broken: cmdline folder");
	is_str(why("kernel.version"), "/proc/version: No such file or directory",
	       "broken: dangling version link");
	is_str(why("kernel.tainted"), "/proc/sys/kernel/tainted: not an integer: '12abc'",
	       "broken: garbage taint");
	is_str(why("cpu.identification"),
	       "cpuid dump line 3 malformed: '0x00000001 0x00: eax=zzzz'",
	       "broken: malformed cpuid dump");
	is_str(str("cpu.cpuinfo.vendor"), "GenuineIntel", "broken: what cpuinfo has is kept");
	is_str(why("cpu.cpuinfo.flags"), "/proc/cpuinfo: no 'flags' line", "broken: no flags");
	is_str(why("memory.mem_total_kb"), "/proc/meminfo: MemTotal: not an integer: 'lots '",
	       "broken: MemTotal garbage");
	has_substr(why("memory.thp.enabled"), "no [selected] choice", "broken: THP no selection");
	is_str(why("memory.thp.defrag"), "/sys/kernel/mm/transparent_hugepage/defrag: empty",
	       "broken: THP defrag empty");
	is_str(why("memory.hugepages.2M.total"),
	       "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages: not an integer: '12abc'",
	       "broken: nr_hugepages garbage");
	is_str(why("memory.hugepages.2M.free"),
	       "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages: empty",
	       "broken: free_hugepages empty");
	ok(at("memory.hugepages.1G") == NULL, "broken: no 1G pool");
	is_int(json_object_size(at("memory.hugepages")), 1, "broken: odd folder names ignored");
	is_str(why("memory.ksm.run"), "/sys/kernel/mm/ksm/run: not an integer: '-'", "broken: ksm");
	is_str(why("smt.active"), "/sys/devices/system/cpu/smt/active: not a boolean: 'maybe'",
	       "broken: SMT active garbage");
	is_str(str("vulnerabilities.meltdown.class"), "not-affected", "broken: good file kept");
	is_str(str("vulnerabilities.l1tf.class"), "unreadable", "broken: folder is unreadable");
	is_str(why("vulnerabilities.l1tf"),
	       "/sys/devices/system/cpu/vulnerabilities/l1tf: is a directory",
	       "broken: l1tf reason");
	is_str(str("vulnerabilities.srbds.class"), "unreadable", "broken: dangling link");
	is_str(str("vulnerabilities.retbleed.class"), "unreadable", "broken: NUL byte");
	is_str(str("vulnerabilities.spectre_v2.class"), "unparsed", "broken: empty file");
	is_str(why("vulnerabilities.spectre_v2"),
	       "/sys/devices/system/cpu/vulnerabilities/spectre_v2: empty", "broken: empty reason");
	is_str(str("vulnerabilities.mds.class"), "unparsed", "broken: garbage bytes");
	is_str(str("vulnerabilities.mds.value"), "??? garbage", "broken: garbage made printable");
	is_str(str("vulnerabilities.tsx_async_abort.class"), "unknown",
	       "broken: kernel says Unknown");
	ok(json_is_false(at("kvm.available")), "broken: KVM not available");
	has_substr(why("kvm"), "kvmqual/kvm.json: ", "broken: truncated kvm.json named");
	ok(json_is_true(at("kvm.modules.kvm.loaded")), "broken: kvm loaded");
	is_str(why("kvm.modules.kvm.parameters"),
	       "/sys/module/kvm/parameters: No such file or directory",
	       "broken: no parameters folder");
	is_str(why("kvm.modules.kvm_intel.parameters.vpid"),
	       "/sys/module/kvm_intel/parameters/vpid: is a directory", "broken: unreadable param");
	ok(why("topology") != NULL, "broken: topology unknown (%s)", why("topology"));
	has_substr(why("cpufreq.driver"), "No such file", "broken: empty cpufreq policy");
	char *s = json_dumps(fp, 0);
	ok(s != NULL, "broken: serialises");
	free(s);
	json_decref(fp);

	fp = kq_probe_host("/nonexistent/tree");
	ok(fp != NULL, "missing tree: fingerprint still made");
	has_substr(why("vulnerabilities"), "No such file", "missing tree: vulnerabilities unknown");
	has_substr(why("kernel.release"), "No such file", "missing tree: release unknown");
	ok(json_is_false(at("kvm.available")), "missing tree: no KVM");
	json_decref(fp);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void live(void)
{
	double t0 = now();
	fp = kq_probe_host("");
	double dt = now() - t0;
	ok(fp != NULL, "live fingerprint");
	ok(dt < 0.5, "live fingerprint in %.3f s (< 0.5 s)", dt);
	is_str(str("source"), "live", "live source");
	is_str(str("environment"), kq_probe_environment(), "environment agrees");
	ok(str("probed_at") != NULL, "probe time recorded");
	ok(json_is_boolean(at("kvm.available")), "KVM availability known");
	if (!json_is_true(at("kvm.available")))
		has_substr(why("kvm"), "/dev/kvm", "no KVM: says why");
	else
		is_int(num("kvm.api_version"), 12, "live KVM API 12");
	json_decref(fp);

	setenv("KVMQUAL_KVM_DEV", "/nonexistent/kvm", 1);
	fp = kq_probe_host("");
	ok(json_is_false(at("kvm.available")), "KVMQUAL_KVM_DEV: no such device");
	is_str(why("kvm"), "/nonexistent/kvm: No such file or directory", "no KVM: says why");
	is_str(str("kvm.device"), "/nonexistent/kvm", "device named");
	ok(json_is_object(at("kvm.modules")), "module parameters still read");
	ok(json_is_object(at("memory")) && json_is_object(at("cpu")), "everything else probed");
	json_decref(fp);
	setenv("KVMQUAL_KVM_DEV", "/dev/null", 1);
	fp = kq_probe_host("");
	has_substr(why("kvm"), "KVM_GET_API_VERSION: ", "not a KVM device: the ioctl named");
	json_decref(fp);
	unsetenv("KVMQUAL_KVM_DEV");

	setenv("KVMQUAL_ENV", "emulated", 1);
	is_str(kq_probe_environment(), "emulated", "KVMQUAL_ENV=emulated");
	setenv("KVMQUAL_ENV", "other", 1);
	ok(strcmp(kq_probe_environment(), "emulated") != 0, "other values ignored");
	unsetenv("KVMQUAL_ENV");
}

/* Runs kq_probe_main with stdout and stderr to /dev/null. */
static int probe_main(int argc, char **argv)
{
	fflush(stdout);
	int o = dup(1), e = dup(2), null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	dup2(null, 2);
	int rc = kq_probe_main(argc, argv);
	fflush(stdout);
	dup2(o, 1);
	dup2(e, 2);
	close(o);
	close(e);
	close(null);
	return rc;
}

static void usage(void)
{
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s", fixture("intel-kvm-host"));
	char *help[] = {"probe", "--help", NULL};
	is_int(probe_main(2, help), 0, "--help: 0");
	char *bad[] = {"probe", "--frobnicate", NULL};
	is_int(probe_main(2, bad), 2, "unknown option: 2");
	char *extra[] = {"probe", "extra", NULL};
	is_int(probe_main(2, extra), 2, "extra argument: 2");
	char *noarg[] = {"probe", "--root", NULL};
	is_int(probe_main(2, noarg), 2, "--root without a value: 2");
	char *notdir[] = {"probe", "--root", "/nonexistent/tree", NULL};
	is_int(probe_main(3, notdir), 2, "--root not a folder: 2");
	char *json[] = {"probe", "--json", "--root", root, NULL};
	is_int(probe_main(4, json), 0, "--json --root: 0");
	char *text[] = {"probe", "--root", root, NULL};
	is_int(probe_main(3, text), 0, "summary of a recorded tree: 0");
	char *brk[] = {"probe", "--root", (char *)fixture("broken"), NULL};
	is_int(probe_main(3, brk), 0, "summary of the broken tree: 0");
	char *both[] = {"probe", "--root", root, "--record", "/tmp/x", NULL};
	is_int(probe_main(5, both), 2, "--record with --root: 2");
	char *notree[] = {"probe", "--root", (char *)fixture(""), NULL};
	is_int(probe_main(3, notree), 2, "--root on a folder that is no recorded tree: 2");
	char *recfile[] = {"probe", "--record", "/dev/null", NULL};
	is_int(probe_main(3, recfile), 2, "--record on something that is not a folder: 2");
	char *recproc[] = {"probe", "--record", "/proc/self", NULL};
	is_int(probe_main(3, recproc), 3, "--record where no file can be written: 3");

	char dir[] = "/tmp/kq-probe-rec-XXXXXX";
	ok(mkdtemp(dir) != NULL, "record folder");
	char *rec[] = {"probe", "--json", "--record", dir, NULL};
	is_int(probe_main(4, rec), 0, "--record: 0");
	json_t *live = kq_probe_host("");
	fp = kq_probe_host(dir);
	is_str(str("kernel.release"), json_string_value(kq_probe_get(live, "kernel.release")),
	       "recorded tree gives the live release");
	is_str(str("environment"), json_string_value(kq_probe_get(live, "environment")),
	       "recorded environment");
	is_str(str("cpu.vendor"), json_string_value(kq_probe_get(live, "cpu.vendor")),
	       "recorded CPUID gives the live vendor");
	is_int(num("topology.pus"), json_integer_value(kq_probe_get(live, "topology.pus")),
	       "recorded topology");
	ok(json_equal(at("kvm.available"), kq_probe_get(live, "kvm.available")),
	   "recorded KVM availability");
	ok(json_equal(at("vulnerabilities"), kq_probe_get(live, "vulnerabilities")),
	   "recorded vulnerabilities identical");
	json_decref(live);
	json_decref(fp);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "record folder removed");
}

int main(void)
{
	intel();
	amd();
	emulated();
	broken();
	live();
	usage();
	return done_testing();
}
