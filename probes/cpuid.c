/* Raw CPUID collection, dump parsing and decoding. */
#include "probes/cpuid.h"

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bitdef {
	const char *name;
	const char *group; /* "features", "speculation", "svm", "sev" */
	uint32_t fn, idx;
	enum kq_cpuid_reg reg;
	int bit;
};

/* Bits libcpuid 0.6.2 does not decode (or that we need by our own name). */
static const struct bitdef bits[] = {
    /* general features */
    {"tsc", "features", 1, 0, KQ_EDX, 4},
    {"pae", "features", 1, 0, KQ_EDX, 6},
    {"apic", "features", 1, 0, KQ_EDX, 9},
    {"ht", "features", 1, 0, KQ_EDX, 28},
    {"vmx", "features", 1, 0, KQ_ECX, 5},
    {"pcid", "features", 1, 0, KQ_ECX, 17},
    {"x2apic", "features", 1, 0, KQ_ECX, 21},
    {"tsc_deadline", "features", 1, 0, KQ_ECX, 24},
    {"xsave", "features", 1, 0, KQ_ECX, 26},
    {"hypervisor", "features", 1, 0, KQ_ECX, 31},
    {"turbo", "features", 6, 0, KQ_EAX, 1},
    {"arat", "features", 6, 0, KQ_EAX, 2},
    {"hwp", "features", 6, 0, KQ_EAX, 7},
    {"fsgsbase", "features", 7, 0, KQ_EBX, 0},
    {"tsc_adjust", "features", 7, 0, KQ_EBX, 1},
    {"sgx", "features", 7, 0, KQ_EBX, 2},
    {"hle", "features", 7, 0, KQ_EBX, 4},
    {"smep", "features", 7, 0, KQ_EBX, 7},
    {"invpcid", "features", 7, 0, KQ_EBX, 10},
    {"rtm", "features", 7, 0, KQ_EBX, 11},
    {"avx512f", "features", 7, 0, KQ_EBX, 16},
    {"smap", "features", 7, 0, KQ_EBX, 20},
    {"pku", "features", 7, 0, KQ_ECX, 3},
    {"waitpkg", "features", 7, 0, KQ_ECX, 5},
    {"la57", "features", 7, 0, KQ_ECX, 16},
    {"rdpid", "features", 7, 0, KQ_ECX, 22},
    {"bus_lock_detect", "features", 7, 0, KQ_ECX, 24},
    {"sgx_lc", "features", 7, 0, KQ_ECX, 30},
    {"serialize", "features", 7, 0, KQ_EDX, 14},
    {"hybrid", "features", 7, 0, KQ_EDX, 15},
    {"tsxldtrk", "features", 7, 0, KQ_EDX, 16},
    {"arch_lbr", "features", 7, 0, KQ_EDX, 19},
    {"ibt", "features", 7, 0, KQ_EDX, 20},
    {"amx_tile", "features", 7, 0, KQ_EDX, 24},
    {"svm", "features", 0x80000001, 0, KQ_ECX, 2},
    {"nx", "features", 0x80000001, 0, KQ_EDX, 20},
    {"pdpe1gb", "features", 0x80000001, 0, KQ_EDX, 26},
    {"rdtscp", "features", 0x80000001, 0, KQ_EDX, 27},
    {"lm", "features", 0x80000001, 0, KQ_EDX, 29},
    {"invariant_tsc", "features", 0x80000007, 0, KQ_EDX, 8},
    /* speculation control: Intel leaf 7 */
    {"srbds_ctrl", "speculation", 7, 0, KQ_EDX, 9},
    {"md_clear", "speculation", 7, 0, KQ_EDX, 10},
    {"rtm_always_abort", "speculation", 7, 0, KQ_EDX, 11},
    {"tsx_force_abort", "speculation", 7, 0, KQ_EDX, 13},
    {"spec_ctrl", "speculation", 7, 0, KQ_EDX, 26},
    {"stibp", "speculation", 7, 0, KQ_EDX, 27},
    {"flush_l1d", "speculation", 7, 0, KQ_EDX, 28},
    {"arch_capabilities", "speculation", 7, 0, KQ_EDX, 29},
    {"core_capabilities", "speculation", 7, 0, KQ_EDX, 30},
    {"spec_ctrl_ssbd", "speculation", 7, 0, KQ_EDX, 31},
    {"psfd", "speculation", 7, 2, KQ_EDX, 0},
    {"ipred_ctrl", "speculation", 7, 2, KQ_EDX, 1},
    {"rrsba_ctrl", "speculation", 7, 2, KQ_EDX, 2},
    {"ddpd_u", "speculation", 7, 2, KQ_EDX, 3},
    {"bhi_ctrl", "speculation", 7, 2, KQ_EDX, 4},
    {"mcdt_no", "speculation", 7, 2, KQ_EDX, 5},
    /* speculation control: AMD 0x80000008 EBX and 0x80000021 EAX */
    {"amd_ibpb", "speculation", 0x80000008, 0, KQ_EBX, 12},
    {"amd_ibrs", "speculation", 0x80000008, 0, KQ_EBX, 14},
    {"amd_stibp", "speculation", 0x80000008, 0, KQ_EBX, 15},
    {"amd_ibrs_always_on", "speculation", 0x80000008, 0, KQ_EBX, 16},
    {"amd_stibp_always_on", "speculation", 0x80000008, 0, KQ_EBX, 17},
    {"amd_ibrs_preferred", "speculation", 0x80000008, 0, KQ_EBX, 18},
    {"amd_ibrs_same_mode", "speculation", 0x80000008, 0, KQ_EBX, 19},
    {"amd_ssbd", "speculation", 0x80000008, 0, KQ_EBX, 24},
    {"virt_ssbd", "speculation", 0x80000008, 0, KQ_EBX, 25},
    {"amd_ssb_no", "speculation", 0x80000008, 0, KQ_EBX, 26},
    {"amd_psfd", "speculation", 0x80000008, 0, KQ_EBX, 28},
    {"btc_no", "speculation", 0x80000008, 0, KQ_EBX, 29},
    {"amd_ibpb_ret", "speculation", 0x80000008, 0, KQ_EBX, 30},
    {"no_nested_data_bp", "speculation", 0x80000021, 0, KQ_EAX, 0},
    {"lfence_rdtsc", "speculation", 0x80000021, 0, KQ_EAX, 2},
    {"verw_clear", "speculation", 0x80000021, 0, KQ_EAX, 5},
    {"null_sel_clr_base", "speculation", 0x80000021, 0, KQ_EAX, 6},
    {"auto_ibrs", "speculation", 0x80000021, 0, KQ_EAX, 8},
    {"sbpb", "speculation", 0x80000021, 0, KQ_EAX, 27},
    {"ibpb_brtype", "speculation", 0x80000021, 0, KQ_EAX, 28},
    {"srso_no", "speculation", 0x80000021, 0, KQ_EAX, 29},
    /* AMD SVM features, 0x8000000A EDX */
    {"npt", "svm", 0x8000000a, 0, KQ_EDX, 0},
    {"lbrv", "svm", 0x8000000a, 0, KQ_EDX, 1},
    {"svm_lock", "svm", 0x8000000a, 0, KQ_EDX, 2},
    {"nrip_save", "svm", 0x8000000a, 0, KQ_EDX, 3},
    {"tsc_scale", "svm", 0x8000000a, 0, KQ_EDX, 4},
    {"vmcb_clean", "svm", 0x8000000a, 0, KQ_EDX, 5},
    {"flush_by_asid", "svm", 0x8000000a, 0, KQ_EDX, 6},
    {"decode_assists", "svm", 0x8000000a, 0, KQ_EDX, 7},
    {"pause_filter", "svm", 0x8000000a, 0, KQ_EDX, 10},
    {"pause_filter_threshold", "svm", 0x8000000a, 0, KQ_EDX, 12},
    {"avic", "svm", 0x8000000a, 0, KQ_EDX, 13},
    {"v_vmsave_vmload", "svm", 0x8000000a, 0, KQ_EDX, 15},
    {"vgif", "svm", 0x8000000a, 0, KQ_EDX, 16},
    {"x2avic", "svm", 0x8000000a, 0, KQ_EDX, 18},
    {"v_spec_ctrl", "svm", 0x8000000a, 0, KQ_EDX, 20},
    {"vnmi", "svm", 0x8000000a, 0, KQ_EDX, 25},
    {"svme_addr_chk", "svm", 0x8000000a, 0, KQ_EDX, 28},
    /* AMD memory encryption, 0x8000001F EAX */
    {"sme", "sev", 0x8000001f, 0, KQ_EAX, 0},
    {"sev", "sev", 0x8000001f, 0, KQ_EAX, 1},
    {"vm_page_flush", "sev", 0x8000001f, 0, KQ_EAX, 2},
    {"sev_es", "sev", 0x8000001f, 0, KQ_EAX, 3},
    {"sev_snp", "sev", 0x8000001f, 0, KQ_EAX, 4},
    {"vmpl", "sev", 0x8000001f, 0, KQ_EAX, 5},
    {"secure_tsc", "sev", 0x8000001f, 0, KQ_EAX, 8},
    {"debug_swap", "sev", 0x8000001f, 0, KQ_EAX, 14},
};

#define NBITS (sizeof(bits) / sizeof(bits[0]))

int kq_cpuid_add(struct kq_cpuid *c, const struct kq_cpuid_entry *e)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct kq_cpuid_entry *ne = realloc(c->e, ncap * sizeof(*ne));
		if (!ne)
			return -1;
		c->e = ne;
		c->cap = ncap;
	}
	c->e[c->n++] = *e;
	return 0;
}

void kq_cpuid_free(struct kq_cpuid *c)
{
	free(c->e);
	c->e = NULL;
	c->n = c->cap = 0;
}

static void exec_add(struct kq_cpuid *c, uint32_t fn, uint32_t idx, struct kq_cpuid_entry *out)
{
	struct kq_cpuid_entry e = {.fn = fn, .idx = idx};
	__cpuid_count(fn, idx, e.eax, e.ebx, e.ecx, e.edx);
	kq_cpuid_add(c, &e);
	if (out)
		*out = e;
}

/* Subleaf rules: how many subleaves of a leaf to read. */
static void read_range(struct kq_cpuid *c, uint32_t base, uint32_t max)
{
	for (uint32_t fn = base; fn <= max; fn++) {
		struct kq_cpuid_entry e;
		switch (fn) {
		case 4:
		case 0x8000001d: /* caches: until type 0 */
			for (uint32_t i = 0; i < 16; i++) {
				exec_add(c, fn, i, &e);
				if ((e.eax & 0x1f) == 0)
					break;
			}
			break;
		case 7: {
			exec_add(c, fn, 0, &e);
			uint32_t n = e.eax < 8 ? e.eax : 8;
			for (uint32_t i = 1; i <= n || i <= 2; i++)
				exec_add(c, fn, i, NULL);
			break;
		}
		case 0xb:
		case 0x1f: /* topology: until level type 0 */
			for (uint32_t i = 0; i < 8; i++) {
				exec_add(c, fn, i, &e);
				if (((e.ecx >> 8) & 0xff) == 0)
					break;
			}
			break;
		case 0xd: /* xsave components */
			for (uint32_t i = 0; i < 20; i++)
				exec_add(c, fn, i, NULL);
			break;
		case 0x10:
		case 0x12:
		case 0x14:
		case 0x17:
		case 0x18:
		case 0x80000020:
		case 0x80000026:
			for (uint32_t i = 0; i < 4; i++)
				exec_add(c, fn, i, NULL);
			break;
		default:
			exec_add(c, fn, 0, NULL);
		}
	}
}

int kq_cpuid_read_live(struct kq_cpuid *c)
{
	unsigned a, b, cc, d;
	__cpuid(0, a, b, cc, d);
	read_range(c, 0, a < 0x40 ? a : 0x40);
	__cpuid(1, a, b, cc, d);
	if (cc & (1u << 31)) {
		__cpuid(0x40000000, a, b, cc, d);
		uint32_t max = a >= 0x40000000 && a < 0x40000010 ? a : 0x40000001;
		read_range(c, 0x40000000, max);
	}
	__cpuid(0x80000000, a, b, cc, d);
	if (a >= 0x80000000)
		read_range(c, 0x80000000, a < 0x80000040 ? a : 0x80000040);
	return 0;
}

int kq_cpuid_parse(struct kq_cpuid *c, const char *text, char *why, size_t whylen)
{
	int cpus = 0, lineno = 0, found = 0;
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[256];
		snprintf(line, sizeof(line), "%.*s", (int)(len < 255 ? len : 255), p);
		p = nl ? nl + 1 : NULL;
		lineno++;
		const char *s = line + strspn(line, " \t");
		if (strncmp(s, "CPU", 3) == 0) {
			if (++cpus > 1)
				break;
			continue;
		}
		if (strncmp(s, "0x", 2) != 0)
			continue;
		struct kq_cpuid_entry e;
		int used = 0;
		if (sscanf(s, "0x%x 0x%x: eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x%n", &e.fn, &e.idx,
			   &e.eax, &e.ebx, &e.ecx, &e.edx, &used) != 6 ||
		    s[used + strspn(s + used, " \t\r")]) {
			if (why && whylen)
				snprintf(why, whylen, "cpuid dump line %d malformed: '%.60s'",
					 lineno, s);
			return -1;
		}
		if (kq_cpuid_add(c, &e) < 0) {
			if (why && whylen)
				snprintf(why, whylen, "out of memory");
			return -1;
		}
		found++;
	}
	if (!found) {
		if (why && whylen)
			snprintf(why, whylen, "no CPUID leaves in the dump");
		return -1;
	}
	return found;
}

char *kq_cpuid_format(const struct kq_cpuid *c)
{
	size_t cap = c->n * 96 + 16;
	char *out = malloc(cap), *w = out;
	if (!out)
		return NULL;
	w += sprintf(w, "CPU 0:\n");
	for (size_t i = 0; i < c->n; i++) {
		const struct kq_cpuid_entry *e = &c->e[i];
		w += sprintf(w, "   0x%08x 0x%02x: eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n",
			     e->fn, e->idx, e->eax, e->ebx, e->ecx, e->edx);
	}
	return out;
}

const struct kq_cpuid_entry *kq_cpuid_get(const struct kq_cpuid *c, uint32_t fn, uint32_t idx)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i].fn == fn && c->e[i].idx == idx)
			return &c->e[i];
	return NULL;
}

uint32_t kq_cpuid_reg(const struct kq_cpuid *c, uint32_t fn, uint32_t idx, enum kq_cpuid_reg r)
{
	const struct kq_cpuid_entry *e = kq_cpuid_get(c, fn, idx);
	if (!e)
		return 0;
	switch (r) {
	case KQ_EAX:
		return e->eax;
	case KQ_EBX:
		return e->ebx;
	case KQ_ECX:
		return e->ecx;
	default:
		return e->edx;
	}
}

bool kq_cpuid_bit(const struct kq_cpuid *c, uint32_t fn, uint32_t idx, enum kq_cpuid_reg r, int bit)
{
	return (kq_cpuid_reg(c, fn, idx, r) >> bit) & 1;
}

static void regs_str(uint32_t a, uint32_t b, uint32_t cc, char out[13])
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &cc, 4);
	out[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (out[i] && (out[i] < 0x20 || out[i] > 0x7e))
			out[i] = '?';
}

void kq_cpuid_vendor(const struct kq_cpuid *c, char out[13])
{
	const struct kq_cpuid_entry *e = kq_cpuid_get(c, 0, 0);
	if (!e) {
		out[0] = '\0';
		return;
	}
	regs_str(e->ebx, e->edx, e->ecx, out);
}

void kq_cpuid_hv_signature(const struct kq_cpuid *c, char out[13])
{
	const struct kq_cpuid_entry *e = kq_cpuid_get(c, 0x40000000, 0);
	out[0] = '\0';
	if (!e || !kq_cpuid_bit(c, 1, 0, KQ_ECX, 31))
		return;
	regs_str(e->ebx, e->ecx, e->edx, out);
}

const char *kq_cpuid_hv_name(const char *sig)
{
	static const struct {
		const char *sig, *name;
	} hv[] = {
	    {"KVMKVMKVM", "KVM"},
	    {"TCGTCGTCGTCG", "QEMU TCG"},
	    {"Microsoft Hv", "Hyper-V"},
	    {"VMwareVMware", "VMware"},
	    {"XenVMMXenVMM", "Xen"},
	    {"VBoxVBoxVBox", "VirtualBox"},
	    {"bhyve bhyve ", "bhyve"},
	    {" lrpepyh  vr", "Parallels"},
	    {"ACRNACRNACRN", "ACRN"},
	    {"QNXQVMBSQG", "QNX"},
	    {"Linux KVM Hv", "KVM (Hyper-V emulation)"},
	};
	if (!sig || !*sig)
		return "none";
	for (size_t i = 0; i < sizeof(hv) / sizeof(hv[0]); i++)
		if (strcmp(sig, hv[i].sig) == 0)
			return hv[i].name;
	return "unknown";
}

static json_t *group_names(const struct kq_cpuid *c, const char *group)
{
	json_t *a = json_array();
	for (size_t i = 0; i < NBITS; i++)
		if (!strcmp(bits[i].group, group) &&
		    kq_cpuid_bit(c, bits[i].fn, bits[i].idx, bits[i].reg, bits[i].bit))
			json_array_append_new(a, json_string(bits[i].name));
	return a;
}

json_t *kq_cpuid_features(const struct kq_cpuid *c)
{
	json_t *a = json_array();
	for (size_t i = 0; i < NBITS; i++)
		if (kq_cpuid_bit(c, bits[i].fn, bits[i].idx, bits[i].reg, bits[i].bit))
			json_array_append_new(a, json_string(bits[i].name));
	return a;
}

int kq_cpuid_has(const struct kq_cpuid *c, const char *name)
{
	for (size_t i = 0; i < NBITS; i++)
		if (!strcmp(bits[i].name, name))
			return kq_cpuid_bit(c, bits[i].fn, bits[i].idx, bits[i].reg, bits[i].bit);
	return -1;
}

static json_t *hex32(uint32_t v)
{
	char b[16];
	snprintf(b, sizeof(b), "0x%08x", v);
	return json_string(b);
}

json_t *kq_cpuid_decode(const struct kq_cpuid *c)
{
	json_t *o = json_object();
	char vendor[13], sig[13];
	kq_cpuid_vendor(c, vendor);
	json_object_set_new(o, "vendor", json_string(vendor));
	json_object_set_new(o, "max_basic_leaf", hex32(kq_cpuid_reg(c, 0, 0, KQ_EAX)));
	json_object_set_new(o, "max_extended_leaf", hex32(kq_cpuid_reg(c, 0x80000000, 0, KQ_EAX)));
	json_object_set_new(o, "leaves", json_integer((json_int_t)c->n));

	bool hv = kq_cpuid_bit(c, 1, 0, KQ_ECX, 31);
	kq_cpuid_hv_signature(c, sig);
	json_t *h = json_pack("{s:b}", "present", hv);
	if (hv) {
		json_object_set_new(h, "signature", json_string(sig));
		json_object_set_new(h, "vendor", json_string(kq_cpuid_hv_name(sig)));
		if (kq_cpuid_get(c, 0x40000000, 0))
			json_object_set_new(h, "max_leaf",
					    hex32(kq_cpuid_reg(c, 0x40000000, 0, KQ_EAX)));
	}
	json_object_set_new(o, "hypervisor", h);

	json_object_set_new(o, "features", group_names(c, "features"));
	json_object_set_new(o, "speculation", group_names(c, "speculation"));

	const struct kq_cpuid_entry *e8 = kq_cpuid_get(c, 0x80000008, 0);
	if (e8) {
		json_object_set_new(o, "phys_addr_bits", json_integer(e8->eax & 0xff));
		json_object_set_new(o, "virt_addr_bits", json_integer((e8->eax >> 8) & 0xff));
	}

	const struct kq_cpuid_entry *sv = kq_cpuid_get(c, 0x8000000a, 0);
	if (sv && kq_cpuid_bit(c, 0x80000001, 0, KQ_ECX, 2))
		json_object_set_new(o, "svm",
				    json_pack("{s:i,s:I,s:o}", "revision", (int)(sv->eax & 0xff),
					      "asids", (json_int_t)sv->ebx, "features",
					      group_names(c, "svm")));
	else
		json_object_set_new(o, "svm", json_null());

	const struct kq_cpuid_entry *mem = kq_cpuid_get(c, 0x8000001f, 0);
	if (mem && mem->eax)
		json_object_set_new(
		    o, "memory_encryption",
		    json_pack("{s:o,s:i,s:i,s:i,s:I,s:I}", "features", group_names(c, "sev"),
			      "c_bit", (int)(mem->ebx & 0x3f), "phys_addr_reduction",
			      (int)((mem->ebx >> 6) & 0x3f), "vmpls", (int)((mem->ebx >> 12) & 0xf),
			      "encrypted_guests", (json_int_t)mem->ecx, "min_sev_asid",
			      (json_int_t)mem->edx));
	else
		json_object_set_new(o, "memory_encryption", json_null());

	const struct kq_cpuid_entry *t15 = kq_cpuid_get(c, 0x15, 0);
	if (t15 && t15->eax && t15->ebx && t15->ecx)
		json_object_set_new(o, "tsc_hz_cpuid",
				    json_integer((json_int_t)t15->ecx * t15->ebx / t15->eax));
	return o;
}
