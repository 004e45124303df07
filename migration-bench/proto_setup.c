/* The SETUP record: the VM configuration the destination must match, and the
 * CPUID and MSRs it must be able to offer (see proto.h). */
#include "migration-bench/proto.h"

#include <stdio.h>
#include <string.h>

void kq_mig_setup_put(struct kq_bytes *out, const struct kq_mig_setup *s)
{
	kq_bytes_u32(out, s->version);
	kq_bytes_u32(out, s->vcpus);
	kq_bytes_u32(out, s->irqchip);
	kq_bytes_u32(out, s->page_size);
	kq_bytes_u64(out, s->tsc_khz);
	kq_bytes_u64(out, s->test_mem);
	kq_bytes_u32(out, s->backing);
	kq_bytes_str(out, s->workload);
	for (int i = 0; i < 16; i++)
		kq_bytes_u64(out, s->args[i]);
	kq_bytes_u32(out, s->nslots);
	for (uint32_t i = 0; i < s->nslots && i < KQ_MIG_MAX_SLOTS; i++) {
		const struct kq_mig_slot *sl = &s->slots[i];
		kq_bytes_u64(out, sl->gpa);
		kq_bytes_u64(out, sl->size);
		kq_bytes_u32(out, sl->backing);
		kq_bytes_u32(out, sl->flags);
		kq_bytes_str(out, sl->name);
	}
	kq_bytes_u32(out, s->ncpuid);
	for (uint32_t i = 0; i < s->ncpuid && i < KQ_MIG_MAX_CPUID; i++) {
		const struct kq_mig_cpuid *c = &s->cpuid[i];
		kq_bytes_u32(out, c->function);
		kq_bytes_u32(out, c->index);
		kq_bytes_u32(out, c->flags);
		kq_bytes_u32(out, c->eax);
		kq_bytes_u32(out, c->ebx);
		kq_bytes_u32(out, c->ecx);
		kq_bytes_u32(out, c->edx);
	}
	kq_bytes_u32(out, s->nmsrs);
	for (uint32_t i = 0; i < s->nmsrs && i < KQ_MIG_MAX_MSRS; i++)
		kq_bytes_u32(out, s->msrs[i]);
}

static int count(struct kq_rd *r, const char *field, uint32_t *n, uint32_t max)
{
	size_t at = r->off;
	if (kq_rd_u32(r, field, n) < 0)
		return -1;
	if (*n > max)
		return kq_rd_fail(r, at, field, "%u exceeds the limit of %u", *n, max);
	return 0;
}

int kq_mig_setup_decode(struct kq_rd *r, struct kq_mig_setup *s)
{
	memset(s, 0, sizeof(*s));
	size_t at = r->off;
	if (kq_rd_u32(r, "version", &s->version) < 0)
		return -1;
	if (s->version != KQ_MIG_VERSION)
		return kq_rd_fail(r, at, "version",
				  "the source speaks migration protocol version %u, this kvmqual "
				  "speaks version %u",
				  s->version, KQ_MIG_VERSION);
	at = r->off;
	if (kq_rd_u32(r, "vcpus", &s->vcpus) < 0)
		return -1;
	if (s->vcpus == 0 || s->vcpus > KQ_MIG_MAX_VCPUS)
		return kq_rd_fail(r, at, "vcpus", "%u is outside 1..%u", s->vcpus,
				  KQ_MIG_MAX_VCPUS);
	kq_rd_u32(r, "irqchip", &s->irqchip);
	kq_rd_u32(r, "page_size", &s->page_size);
	kq_rd_u64(r, "tsc_khz", &s->tsc_khz);
	kq_rd_u64(r, "test_mem", &s->test_mem);
	kq_rd_u32(r, "backing", &s->backing);
	kq_rd_str(r, "workload", s->workload, sizeof(s->workload));
	for (int i = 0; i < 16; i++)
		kq_rd_u64(r, "args", &s->args[i]);
	if (count(r, "nslots", &s->nslots, KQ_MIG_MAX_SLOTS) < 0)
		return -1;
	for (uint32_t i = 0; i < s->nslots; i++) {
		struct kq_mig_slot *sl = &s->slots[i];
		at = r->off;
		kq_rd_u64(r, "slot.gpa", &sl->gpa);
		kq_rd_u64(r, "slot.size", &sl->size);
		kq_rd_u32(r, "slot.backing", &sl->backing);
		kq_rd_u32(r, "slot.flags", &sl->flags);
		if (kq_rd_str(r, "slot.name", sl->name, sizeof(sl->name)) < 0)
			return -1;
		if (sl->gpa % KQ_MIG_PAGE || sl->size % KQ_MIG_PAGE || sl->size == 0)
			return kq_rd_fail(
			    r, at, "slot.gpa", "slot %u: gpa 0x%llx size 0x%llx not whole pages", i,
			    (unsigned long long)sl->gpa, (unsigned long long)sl->size);
		if (sl->gpa + sl->size < sl->gpa)
			return kq_rd_fail(r, at, "slot.size", "slot %u wraps the address space", i);
		if (i > 0 && sl->gpa < s->slots[i - 1].gpa + s->slots[i - 1].size)
			return kq_rd_fail(r, at, "slot.gpa",
					  "slot %u at 0x%llx overlaps or precedes slot %u", i,
					  (unsigned long long)sl->gpa, i - 1);
	}
	if (count(r, "ncpuid", &s->ncpuid, KQ_MIG_MAX_CPUID) < 0)
		return -1;
	for (uint32_t i = 0; i < s->ncpuid; i++) {
		struct kq_mig_cpuid *c = &s->cpuid[i];
		kq_rd_u32(r, "cpuid.function", &c->function);
		kq_rd_u32(r, "cpuid.index", &c->index);
		kq_rd_u32(r, "cpuid.flags", &c->flags);
		kq_rd_u32(r, "cpuid.eax", &c->eax);
		kq_rd_u32(r, "cpuid.ebx", &c->ebx);
		kq_rd_u32(r, "cpuid.ecx", &c->ecx);
		kq_rd_u32(r, "cpuid.edx", &c->edx);
	}
	if (count(r, "nmsrs", &s->nmsrs, KQ_MIG_MAX_MSRS) < 0)
		return -1;
	for (uint32_t i = 0; i < s->nmsrs; i++)
		kq_rd_u32(r, "msrs", &s->msrs[i]);
	return kq_rd_end(r);
}

#define DIFF(what, a, b)                                                                           \
	do {                                                                                       \
		if ((a) != (b)) {                                                                  \
			snprintf(err, errlen, "%s: source %llu, destination %llu", what,           \
				 (unsigned long long)(a), (unsigned long long)(b));                \
			return -1;                                                                 \
		}                                                                                  \
	} while (0)

int kq_mig_setup_compare(const struct kq_mig_setup *src, const struct kq_mig_setup *dst, char *err,
			 size_t errlen)
{
	DIFF("vCPU count", src->vcpus, dst->vcpus);
	DIFF("irqchip", src->irqchip, dst->irqchip);
	DIFF("test memory bytes", src->test_mem, dst->test_mem);
	DIFF("test memory guest page size", src->page_size, dst->page_size);
	DIFF("test memory backing", src->backing, dst->backing);
	DIFF("memory slot count", src->nslots, dst->nslots);
	for (uint32_t i = 0; i < src->nslots; i++) {
		const struct kq_mig_slot *a = &src->slots[i], *b = &dst->slots[i];
		char what[96];
		snprintf(what, sizeof(what), "slot %u (%s) guest-physical address", i, a->name);
		DIFF(what, a->gpa, b->gpa);
		snprintf(what, sizeof(what), "slot %u (%s) size", i, a->name);
		DIFF(what, a->size, b->size);
		snprintf(what, sizeof(what), "slot %u (%s) backing", i, a->name);
		DIFF(what, a->backing, b->backing);
	}
	if (strcmp(src->workload, dst->workload) != 0) {
		snprintf(err, errlen, "guest workload: source '%s', destination '%s'",
			 src->workload, dst->workload);
		return -1;
	}
	return 0;
}

static const struct kq_mig_cpuid *find_cpuid(const struct kq_mig_setup *s, uint32_t fn,
					     uint32_t idx)
{
	for (uint32_t i = 0; i < s->ncpuid; i++)
		if (s->cpuid[i].function == fn &&
		    (s->cpuid[i].index == idx || !(s->cpuid[i].flags & 1 /* SIGNIFCANT_INDEX */)))
			return &s->cpuid[i];
	return NULL;
}

/* Leaves whose registers are feature bitmaps: the guest may use any bit it
 * was given, so the destination must offer a superset. */
static const struct {
	uint32_t fn, idx;
	uint8_t regs; /* bit 0 eax, 1 ebx, 2 ecx, 3 edx */
	const char *name;
} feature_leaves[] = {
    {0x1, 0, 0xc, "1"},
    {0x7, 0, 0xe, "7.0"},
    {0x7, 1, 0x1, "7.1"},
    {0xd, 1, 0x1, "0xd.1"},
    {0x80000001, 0, 0xc, "0x80000001"},
    {0x80000008, 0, 0x2, "0x80000008"},
};

int kq_mig_check_offer(const struct kq_mig_setup *src, const struct kq_mig_setup *sup, char *err,
		       size_t errlen)
{
	static const char *const reg_names[4] = {"eax", "ebx", "ecx", "edx"};
	for (size_t i = 0; i < sizeof(feature_leaves) / sizeof(feature_leaves[0]); i++) {
		const struct kq_mig_cpuid *a =
		    find_cpuid(src, feature_leaves[i].fn, feature_leaves[i].idx);
		if (!a)
			continue;
		const struct kq_mig_cpuid *b =
		    find_cpuid(sup, feature_leaves[i].fn, feature_leaves[i].idx);
		uint32_t ra[4] = {a->eax, a->ebx, a->ecx, a->edx};
		uint32_t rb[4] = {0};
		if (b) {
			rb[0] = b->eax;
			rb[1] = b->ebx;
			rb[2] = b->ecx;
			rb[3] = b->edx;
		}
		for (int reg = 0; reg < 4; reg++) {
			if (!(feature_leaves[i].regs & (1 << reg)))
				continue;
			uint32_t missing = ra[reg] & ~rb[reg];
			if (missing) {
				snprintf(err, errlen,
					 "CPUID leaf %s %s: the source guest was given bits 0x%08x "
					 "this host cannot offer (first: bit %d)",
					 feature_leaves[i].name, reg_names[reg], missing,
					 __builtin_ctz(missing));
				return -1;
			}
		}
	}
	const struct kq_mig_cpuid *v0 = find_cpuid(src, 0, 0), *v1 = find_cpuid(sup, 0, 0);
	if (v0 && v1 && (v0->ebx != v1->ebx || v0->ecx != v1->ecx || v0->edx != v1->edx)) {
		char a[13], b[13];
		memcpy(a, &v0->ebx, 4);
		memcpy(a + 4, &v0->edx, 4);
		memcpy(a + 8, &v0->ecx, 4);
		memcpy(b, &v1->ebx, 4);
		memcpy(b + 4, &v1->edx, 4);
		memcpy(b + 8, &v1->ecx, 4);
		a[12] = b[12] = '\0';
		snprintf(err, errlen, "CPUID vendor: source '%s', destination '%s'", a, b);
		return -1;
	}
	for (uint32_t i = 0; i < src->nmsrs; i++) {
		bool found = false;
		for (uint32_t j = 0; j < sup->nmsrs && !found; j++)
			found = sup->msrs[j] == src->msrs[i];
		if (!found) {
			snprintf(err, errlen,
				 "MSR 0x%08x: the source guest's state carries it, this host's KVM "
				 "cannot save or restore it",
				 src->msrs[i]);
			return -1;
		}
	}
	return 0;
}
