/* Test 4a, CPUID policy: the host clears a random subset (seeded, the seed
 * reported) of the feature bits KVM offers, sets the result with
 * KVM_SET_CPUID2, and the guest executes CPUID for every leaf: what it sees
 * must be exactly what was set, leaf by leaf and register by register, but
 * for the few bits KVM defines as live state (listed in dynamic_mask). A
 * difference is a FAIL with the leaf, register, bits, the value set, what
 * KVM_GET_CPUID2 reads back, what the guest saw and the host's own CPUID. */
#include "isolation-tests/cpuid_policy_abi.h"
#include "isolation-tests/iso_common.h"
#include "isolation-tests/plant.h"
#include "vmm/err.h"

#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reg_names[4] = {"eax", "ebx", "ecx", "edx"};

/* Bits KVM keeps in step with vCPU state rather than with the CPUID table:
 * OSXSAVE (CR4), APIC (APIC_BASE enable), OSPKE (CR4), and the XSAVE area
 * sizes of leaf 0xD, which follow XCR0 and XSS. */
static uint32_t dynamic_mask(uint32_t fn, uint32_t idx, int reg)
{
	if (fn == 1 && reg == 2)
		return 1u << 27;
	if (fn == 1 && reg == 3)
		return 1u << 9;
	if (fn == 7 && idx == 0 && reg == 2)
		return 1u << 4;
	if (fn == 0xd && idx <= 1 && reg == 1)
		return ~0u;
	return 0;
}

/* Registers whose bits the test may clear: feature flags only (leaf 1 ECX
 * but XSAVE and OSXSAVE, leaf 7.0 EBX/ECX/EDX, leaf 0x80000001 ECX); the
 * rest describe the machine the guest runtime itself relies on. */
static uint32_t clearable(uint32_t fn, uint32_t idx, int reg)
{
	if (fn == 1 && reg == 2)
		return ~(1u << 26 | 1u << 27);
	if (fn == 7 && idx == 0 && reg >= 1)
		return ~0u;
	if (fn == 0x80000001 && reg == 2)
		return ~0u;
	return 0;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, int r)
{
	return r == 0 ? &e->eax : r == 1 ? &e->ebx : r == 2 ? &e->ecx : &e->edx;
}

/* Clears each set, clearable bit with probability 1/4; returns how many.
 * *first gets the first one cleared (entry, register, bit) for the plant. */
static int clear_random_bits(struct kvm_cpuid2 *c, uint64_t seed, int first[3])
{
	uint64_t s = seed;
	int n = 0;
	for (uint32_t i = 0; i < c->nent; i++)
		for (int r = 0; r < 4; r++) {
			struct kvm_cpuid_entry2 *e = &c->entries[i];
			uint32_t *v = reg_of(e, r), m = *v & clearable(e->function, e->index, r);
			for (int b = 0; b < 32; b++)
				if ((m >> b & 1) && (splitmix64(&s) & 3) == 0) {
					*v &= ~(1u << b);
					if (!n++) {
						first[0] = (int)i;
						first[1] = r;
						first[2] = b;
					}
				}
		}
	return n;
}

static struct kvm_cpuid_entry2 *find_exact(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

static void hexs(json_t *o, const char *k, uint32_t v)
{
	char s[16];
	snprintf(s, sizeof(s), "0x%08x", v);
	json_object_set_new(o, k, json_string(s));
}

struct cmp {
	int leaves, regs, mismatches, host_cause, changed_after_set, unexplained;
	json_t *list;
	char first[320];
};

/* One register: set value vs the guest's, with the cause where it shows. */
static void compare_reg(struct cmp *c, struct kvm_cpuid_entry2 *set, struct kvm_cpuid2 *rb,
			const struct kq_cpuid_probe *g, int r)
{
	uint32_t mask = ~dynamic_mask(set->function, set->index, r);
	uint32_t want = *reg_of(set, r), got = g->r[r], diff = (want ^ got) & mask;
	c->regs++;
	if (!diff)
		return;
	struct kvm_cpuid_entry2 *back = find_exact(rb, set->function, set->index);
	uint32_t rbv = back ? *reg_of(back, r) : 0;
	unsigned h[4];
	__cpuid_count(set->function, set->index, h[0], h[1], h[2], h[3]);
	const char *cause;
	if (back && ((rbv ^ want) & diff)) {
		cause = "changed_after_set"; /* KVM holds another value than was set */
		c->changed_after_set++;
	} else if (((h[r] ^ got) & diff) == 0) {
		cause = "guest_sees_host_cpuid"; /* KVM accepted it; the guest sees the host's */
		c->host_cause++;
	} else {
		cause = "unexplained";
		c->unexplained++;
	}
	if (!c->mismatches++)
		snprintf(c->first, sizeof(c->first),
			 "leaf 0x%x.%u %s: set 0x%08x, guest sees 0x%08x (bits 0x%08x; "
			 "KVM_GET_CPUID2 reads back 0x%08x; cause %s)",
			 set->function, set->index, reg_names[r], want, got, diff, rbv, cause);
	if (json_array_size(c->list) >= 48)
		return;
	json_t *o = json_object();
	char leaf[24];
	snprintf(leaf, sizeof(leaf), "0x%x.%u", set->function, set->index);
	json_object_set_new(o, "leaf", json_string(leaf));
	json_object_set_new(o, "reg", json_string(reg_names[r]));
	hexs(o, "bits", diff);
	hexs(o, "set", want);
	hexs(o, "readback", rbv);
	hexs(o, "guest", got);
	hexs(o, "host", h[r]);
	json_object_set_new(o, "cause", json_string(cause));
	json_array_append_new(c->list, o);
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		struct kq_result *res)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	struct kq_vm *vm = NULL;
	struct kvm_cpuid2 *want = NULL, *rb = NULL, *planted = NULL;
	struct cmp c = {.list = json_array()};
	uint64_t seed = (uint64_t)kq_test_param_int(t, "seed", 0);
	if (!seed)
		seed = kq_iso_random_u64();
	char s[24];
	snprintf(s, sizeof(s), "%llu", (unsigned long long)seed);
	kq_result_set_evidence(res, "seed", json_string(s));
	struct kq_vm_config cfg = kq_iso_config("iso.cpuid", t->time_limit_s);
	if (kq_vm_create(&vm, &kvm, &cfg) < 0) {
		kq_iso_vmm_error(res, "creating the VM");
		goto out;
	}
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	if (!(want = kq_vcpu_get_cpuid(v))) {
		kq_iso_vmm_error(res, "KVM_GET_CPUID2");
		goto out;
	}
	if (want->nent > KQ_CPUID_MAX_LEAVES) {
		kq_result_set_status(res, KQ_FAIL, "%u CPUID entries: more than %d", want->nent,
				     KQ_CPUID_MAX_LEAVES);
		goto out;
	}
	int first[3] = {-1, 0, 0};
	int cleared = clear_random_bits(want, seed, first);
	kq_result_set_evidence(res, "bits_cleared", json_integer(cleared));
	if (kq_vcpu_set_cpuid(v, want) < 0) {
		kq_result_set_status(res, KQ_FAIL, "KVM_SET_CPUID2 refused the policy: %s",
				     kq_err());
		goto out;
	}
	if (kq_iso_planted("cpuid", res) && first[0] >= 0) {
		size_t sz = sizeof(*want) + want->nent * sizeof(want->entries[0]);
		planted = malloc(sz);
		memcpy(planted, want, sz);
		struct kvm_cpuid_entry2 *e = &planted->entries[first[0]];
		*reg_of(e, first[1]) |= 1u << first[2];
		char pb[64];
		snprintf(pb, sizeof(pb), "0x%x.%u %s bit %d", e->function, e->index,
			 reg_names[first[1]], first[2]);
		kq_result_set_evidence(res, "planted_bit", json_string(pb));
		if (kq_vcpu_set_cpuid(v, planted) < 0) {
			kq_iso_vmm_error(res, "planting: KVM_SET_CPUID2");
			goto out;
		}
	}
	if (!(rb = kq_vcpu_get_cpuid(v))) {
		kq_iso_vmm_error(res, "KVM_GET_CPUID2 after KVM_SET_CPUID2");
		goto out;
	}
	struct kq_cpuid_table *tb = kq_iso_table(vm, sizeof(*tb));
	tb->n = want->nent;
	for (uint32_t i = 0; i < want->nent; i++)
		tb->p[i] = (struct kq_cpuid_probe){.function = want->entries[i].function,
						   .index = want->entries[i].index};
	if (kq_vm_run(vm) < 0 || !tb->finished) {
		kq_result_set_status(res, KQ_FAIL, "the guest did not finish: %s",
				     kq_vm_failure(vm));
		goto out;
	}
	for (uint32_t i = 0; i < want->nent; i++) {
		c.leaves++;
		for (int r = 0; r < 4; r++)
			compare_reg(&c, &want->entries[i], rb, &tb->p[i], r);
	}
	kq_result_add_value(res, "cpuid_leaves_checked", "leaves", c.leaves);
	kq_result_set_evidence(res, "registers_checked", json_integer(c.regs));
	kq_result_set_evidence(res, "mismatching_registers", json_integer(c.mismatches));
	kq_result_set_evidence(res, "causes",
			       json_pack("{si si si}", "guest_sees_host_cpuid", c.host_cause,
					 "changed_after_set", c.changed_after_set, "unexplained",
					 c.unexplained));
	kq_result_set_evidence(res, "mismatches", json_incref(c.list));
	if (c.mismatches)
		kq_result_set_status(
		    res, KQ_FAIL,
		    "%d of %d registers differ from what KVM_SET_CPUID2 set; first: %s",
		    c.mismatches, c.regs, c.first);
	else
		kq_result_set_status(
		    res, KQ_PASS,
		    "%d leaves (%d registers): the guest sees exactly what was set, "
		    "%d bits cleared (seed %llu)",
		    c.leaves, c.regs, cleared, (unsigned long long)seed);
out:
	json_decref(c.list);
	free(want);
	free(rb);
	free(planted);
	kq_vm_destroy(vm);
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec params[] = {
    {"seed", KQ_PT_U64, "seed of the bits cleared (0: a new one each run, reported)"},
    {NULL, 0, NULL},
};

static const struct kq_driver drivers[] = {{
    .name = "isolation.cpuid",
    .summary = "the guest's CPUID is exactly what KVM_SET_CPUID2 set (random bits cleared)",
    .needs_kvm = true,
    .params = params,
    .run = run,
}};
KQ_DRIVER_TABLE(drivers)
