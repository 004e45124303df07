/* Raw CPUID dumps: parsing, decoding of the bits libcpuid lacks, and the
 * live collection. */
#include "probes/cpuid.h"
#include "probes/fs.h"
#include "tests/tap.h"
#include "tests/unit/test_probe_fixture.h"

static struct kq_cpuid load(const char *tree)
{
	struct kq_cpuid c = {0};
	char why[256];
	char *text = kq_fs_slurp(fixture(tree), "/kvmqual/cpuid.txt", NULL, why, sizeof(why));
	ok(text != NULL, "%s: cpuid.txt read", tree);
	if (text && kq_cpuid_parse(&c, text, why, sizeof(why)) < 0)
		printf("# %s\n", why);
	free(text);
	return c;
}

/* The array of strings as one space-separated line. */
static const char *joined(json_t *a)
{
	static char buf[1024];
	size_t i, w = 0;
	json_t *v;
	buf[0] = '\0';
	json_array_foreach(a, i, v) w +=
	    (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%s", i ? " " : "", json_string_value(v));
	return buf;
}

static void intel(void)
{
	struct kq_cpuid c = load("intel-kvm-host");
	is_int(c.n, 22, "intel: 22 leaves");
	char v[13];
	kq_cpuid_vendor(&c, v);
	is_str(v, "GenuineIntel", "intel: vendor");
	kq_cpuid_hv_signature(&c, v);
	is_str(v, "", "intel: no hypervisor signature on bare metal");
	is_int(kq_cpuid_get(&c, 4, 3)->ecx, 0x8fff, "intel: leaf 4 subleaf 3 kept apart");
	ok(kq_cpuid_get(&c, 4, 9) == NULL, "intel: absent subleaf");
	ok(kq_cpuid_bit(&c, 1, 0, KQ_ECX, 5), "intel: VMX bit");
	ok(!kq_cpuid_bit(&c, 0x8000000a, 0, KQ_EDX, 0), "absent leaf reads as zero");
	is_int(kq_cpuid_has(&c, "vmx"), 1, "has vmx");
	is_int(kq_cpuid_has(&c, "svm"), 0, "no svm");
	is_int(kq_cpuid_has(&c, "frobnicate"), -1, "unknown feature name");

	json_t *d = kq_cpuid_decode(&c);
	is_str(json_string_value(json_object_get(d, "vendor")), "GenuineIntel", "decoded vendor");
	is_str(json_string_value(json_object_get(d, "max_basic_leaf")), "0x00000016", "max leaf");
	is_str(json_string_value(json_object_get(d, "max_extended_leaf")), "0x80000008",
	       "max extended leaf");
	ok(json_is_false(json_object_get(json_object_get(d, "hypervisor"), "present")),
	   "hypervisor bit clear");
	is_str(joined(json_object_get(d, "speculation")),
	       "md_clear spec_ctrl stibp flush_l1d arch_capabilities spec_ctrl_ssbd",
	       "leaf 7 speculation controls");
	is_str(
	    joined(json_object_get(d, "features")),
	    "tsc pae apic ht vmx pcid x2apic tsc_deadline xsave turbo arat fsgsbase "
	    "tsc_adjust hle smep invpcid rtm avx512f smap pku nx pdpe1gb rdtscp lm invariant_tsc",
	    "features");
	is_int(json_integer_value(json_object_get(d, "phys_addr_bits")), 46, "46 physical bits");
	is_int(json_integer_value(json_object_get(d, "virt_addr_bits")), 48, "48 virtual bits");
	is_int(json_integer_value(json_object_get(d, "tsc_hz_cpuid")), 2100000000,
	       "TSC from leaf 0x15: 25 MHz * 168 / 2");
	ok(json_is_null(json_object_get(d, "svm")), "no SVM on Intel");
	ok(json_is_null(json_object_get(d, "memory_encryption")), "no SEV on Intel");
	json_decref(d);

	char *text = kq_cpuid_format(&c);
	struct kq_cpuid back = {0};
	is_int(kq_cpuid_parse(&back, text, NULL, 0), 22, "formatted dump parses back");
	ok(back.n == c.n && !memcmp(back.e, c.e, c.n * sizeof(c.e[0])), "round trip exact");
	free(text);
	kq_cpuid_free(&back);
	kq_cpuid_free(&c);
}

static void amd_recorded(void)
{
	struct kq_cpuid c = load("amd-pvm-host");
	is_int(c.n, 110, "amd: 110 leaves recorded");
	char v[13];
	kq_cpuid_hv_signature(&c, v);
	is_str(v, "KVMKVMKVM", "amd: KVM signature");
	is_str(kq_cpuid_hv_name(v), "KVM", "amd: hypervisor named");
	json_t *d = kq_cpuid_decode(&c);
	is_str(json_string_value(json_object_get(d, "vendor")), "AuthenticAMD", "amd: vendor");
	json_t *h = json_object_get(d, "hypervisor");
	ok(json_is_true(json_object_get(h, "present")), "amd: hypervisor bit set");
	is_str(json_string_value(json_object_get(h, "vendor")), "KVM", "amd: hypervisor vendor");
	is_str(json_string_value(json_object_get(h, "max_leaf")), "0x40000001", "amd: hv max leaf");
	is_str(joined(json_object_get(d, "speculation")),
	       "amd_stibp_always_on amd_psfd amd_ibpb_ret lfence_rdtsc",
	       "amd: speculation bits from 0x80000008 and 0x80000021");
	ok(json_is_null(json_object_get(d, "svm")), "amd: SVM hidden from this guest");
	json_decref(d);
	kq_cpuid_free(&c);
}

static const char svm_dump[] =
    "CPU 0:\n"
    "   0x00000000 0x00: eax=0x00000010 ebx=0x68747541 ecx=0x444d4163 edx=0x69746e65\n"
    "   0x00000001 0x00: eax=0x00a10f11 ebx=0x00000000 ecx=0x7ed8320b edx=0x178bfbff\n"
    "   0x80000000 0x00: eax=0x80000021 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n"
    "   0x80000001 0x00: eax=0x00000000 ebx=0x00000000 ecx=0x00000004 edx=0x2c000000\n"
    "   0x8000000a 0x00: eax=0x00000001 ebx=0x00008000 ecx=0x00000000 edx=0x02002009\n"
    "   0x8000001f 0x00: eax=0x0000001b ebx=0x0000116f ecx=0x000001fd edx=0x00000064\n"
    "CPU 1:\n"
    "   0x00000000 0x00: eax=0x00000001 ebx=0x00000000 ecx=0x00000000 edx=0x00000000\n";

static void svm(void)
{
	struct kq_cpuid c = {0};
	char why[128];
	is_int(kq_cpuid_parse(&c, svm_dump, why, sizeof(why)), 6, "only the first CPU's block");
	json_t *d = kq_cpuid_decode(&c);
	json_t *s = json_object_get(d, "svm");
	is_int(json_integer_value(json_object_get(s, "revision")), 1, "SVM revision");
	is_int(json_integer_value(json_object_get(s, "asids")), 32768, "ASIDs");
	is_str(joined(json_object_get(s, "features")), "npt nrip_save avic vnmi", "SVM features");
	json_t *m = json_object_get(d, "memory_encryption");
	is_str(joined(json_object_get(m, "features")), "sme sev sev_es sev_snp", "SEV features");
	is_int(json_integer_value(json_object_get(m, "c_bit")), 47, "C-bit 47");
	is_int(json_integer_value(json_object_get(m, "phys_addr_reduction")), 5, "5 bits reduced");
	is_int(json_integer_value(json_object_get(m, "vmpls")), 1, "VMPLs");
	is_int(json_integer_value(json_object_get(m, "encrypted_guests")), 509, "509 guests");
	is_int(json_integer_value(json_object_get(m, "min_sev_asid")), 100, "min SEV ASID");
	json_decref(d);
	kq_cpuid_free(&c);

	struct kq_cpuid bad = {0};
	is_int(kq_cpuid_parse(&bad, "CPU 0:\n   0x00000001 0x00: eax=zz\n", why, sizeof(why)), -1,
	       "malformed leaf line rejected");
	is_str(why, "cpuid dump line 2 malformed: '0x00000001 0x00: eax=zz'", "line named");
	is_int(kq_cpuid_parse(&bad, "no leaves here\n", why, sizeof(why)), -1, "no leaves");
	is_str(why, "no CPUID leaves in the dump", "reason: no leaves");
	is_int(kq_cpuid_parse(&bad, "0x00000000 0x00: eax=0x1 ebx=0x2 ecx=0x3 edx=0x4 trailing\n",
			      why, sizeof(why)),
	       -1, "trailing text rejected");
	kq_cpuid_free(&bad);
	is_str(kq_cpuid_hv_name("TCGTCGTCGTCG"), "QEMU TCG", "TCG named");
	is_str(kq_cpuid_hv_name("Microsoft Hv"), "Hyper-V", "Hyper-V named");
	is_str(kq_cpuid_hv_name("SomethingNew"), "unknown", "unknown signature");
	is_str(kq_cpuid_hv_name(""), "none", "no signature");
}

static void live(void)
{
	struct kq_cpuid c = {0};
	is_int(kq_cpuid_read_live(&c), 0, "live CPUID read");
	ok(c.n > 10, "live: %zu leaves", c.n);
	char v[13], why[128];
	kq_cpuid_vendor(&c, v);
	char *ci = kq_fs_slurp("", "/proc/cpuinfo", NULL, why, sizeof(why));
	if (ci) {
		has_substr(ci, v, "live vendor %s appears in /proc/cpuinfo", v);
		bool hv = strstr(ci, " hypervisor") != NULL;
		is_int(kq_cpuid_has(&c, "hypervisor"), hv, "hypervisor bit agrees with cpuinfo");
		free(ci);
	}
	ok(kq_cpuid_get(&c, 0x80000000, 0) != NULL, "extended range read");
	kq_cpuid_free(&c);
}

int main(void)
{
	intel();
	amd_recorded();
	svm();
	live();
	return done_testing();
}
