/* The record list of a saved state: known types, the checks every record
 * passes (shared by kq_state_add and the decoder), lookup and inspection. */
#include "vmm/state_record_internal.h"
#include "vmm/err.h"
#include "vmm/vm.h"

#include <linux/kvm.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define FIXED(t, n, vm, sz, grp)                                                                   \
	{                                                                                          \
		t, n, vm, grp, sz, 0, 0, 0                                                         \
	}
#define ARRAY(t, n, vm, el, lo, hi, grp)                                                           \
	{                                                                                          \
		t, n, vm, grp, 0, el, lo, hi                                                       \
	}

/* group: records that describe the same state in two forms (sregs/sregs2,
 * fpu/xsave) share one, so a state holding both is a duplicate. */
static const struct kq_rec_type types[] = {
    FIXED(KQ_REC_VM, "vm", true, 4, KQ_REC_VM),
    FIXED(KQ_REC_CLOCK, "clock", true, sizeof(struct kvm_clock_data), KQ_REC_CLOCK),
    FIXED(KQ_REC_PIC_MASTER, "pic-master", true, sizeof(struct kvm_pic_state), KQ_REC_PIC_MASTER),
    FIXED(KQ_REC_PIC_SLAVE, "pic-slave", true, sizeof(struct kvm_pic_state), KQ_REC_PIC_SLAVE),
    FIXED(KQ_REC_IOAPIC, "ioapic", true, sizeof(struct kvm_ioapic_state), KQ_REC_IOAPIC),
    FIXED(KQ_REC_PIT2, "pit2", true, sizeof(struct kvm_pit_state2), KQ_REC_PIT2),
    FIXED(KQ_REC_REGS, "regs", false, sizeof(struct kvm_regs), KQ_REC_REGS),
    FIXED(KQ_REC_SREGS, "sregs", false, sizeof(struct kvm_sregs), KQ_REC_SREGS),
    FIXED(KQ_REC_SREGS2, "sregs2", false, sizeof(struct kvm_sregs2), KQ_REC_SREGS),
    FIXED(KQ_REC_FPU, "fpu", false, sizeof(struct kvm_fpu), KQ_REC_FPU),
    ARRAY(KQ_REC_XSAVE, "xsave", false, 4, sizeof(struct kvm_xsave), KQ_STATE_MAX_PAYLOAD,
	  KQ_REC_FPU),
    FIXED(KQ_REC_XCRS, "xcrs", false, sizeof(struct kvm_xcrs), KQ_REC_XCRS),
    ARRAY(KQ_REC_MSRS, "msrs", false, KQ_STATE_MSR_ENTRY, 0, KQ_STATE_MAX_PAYLOAD, KQ_REC_MSRS),
    ARRAY(KQ_REC_MSRS_DROPPED, "msrs-dropped", false, 4, 4, KQ_STATE_MAX_PAYLOAD,
	  KQ_REC_MSRS_DROPPED),
    FIXED(KQ_REC_LAPIC, "lapic", false, sizeof(struct kvm_lapic_state), KQ_REC_LAPIC),
    FIXED(KQ_REC_EVENTS, "events", false, sizeof(struct kvm_vcpu_events), KQ_REC_EVENTS),
    FIXED(KQ_REC_MP_STATE, "mp-state", false, sizeof(struct kvm_mp_state), KQ_REC_MP_STATE),
    FIXED(KQ_REC_DEBUGREGS, "debugregs", false, sizeof(struct kvm_debugregs), KQ_REC_DEBUGREGS),
    FIXED(KQ_REC_TSC_KHZ, "tsc-khz", false, 8, KQ_REC_TSC_KHZ),
    FIXED(KQ_REC_TSC_OFFSET, "tsc-offset", false, 8, KQ_REC_TSC_OFFSET),
    ARRAY(KQ_REC_CPUID, "cpuid", false, sizeof(struct kvm_cpuid_entry2),
	  sizeof(struct kvm_cpuid_entry2), 256 * sizeof(struct kvm_cpuid_entry2), KQ_REC_CPUID),
    ARRAY(KQ_REC_NESTED, "nested", false, 1, sizeof(struct kvm_nested_state), KQ_STATE_MAX_PAYLOAD,
	  KQ_REC_NESTED),
};

const struct kq_rec_type *kq_rec_type_find(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return &types[i];
	return NULL;
}

const char *kq_state_type_name(uint16_t type)
{
	static __thread char buf[24];
	const struct kq_rec_type *t = kq_rec_type_find(type);
	if (t)
		return t->name;
	snprintf(buf, sizeof(buf), "unknown-0x%04x", type);
	return buf;
}

/* "state byte 56 (record 1 length): ..." when decoding; "record regs vCPU 0
 * (length): ..." when a caller adds a record. */
static int rec_fail(const struct kq_rec_where *w, size_t rel, const char *field, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static int rec_fail(const struct kq_rec_where *w, size_t rel, const char *field, const char *fmt,
		    ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->from_bytes)
		return kq_err_set("state byte %zu (record %u %s): %s", w->offset + rel, w->index,
				  field, msg);
	return kq_err_set("state record %u (%s): %s", w->index, field, msg);
}

int kq_rec_check(const struct kq_rec_where *w, uint32_t nvcpus, uint16_t type, uint16_t version,
		 uint32_t vcpu, const uint8_t *data, uint32_t len, const struct kq_rec_type **tp)
{
	const struct kq_rec_type *t = kq_rec_type_find(type);
	*tp = t;
	if (!t)
		return 0; /* the caller decides whether an unknown type is allowed */
	if (version != KQ_STATE_REC_VERSION)
		return rec_fail(w, 10, "version", "%s record version %u: this reader knows %u",
				t->name, version, KQ_STATE_REC_VERSION);
	if (t->vm && vcpu != KQ_STATE_VM)
		return rec_fail(w, 12, "vcpu", "%s is VM-wide but names vCPU %u", t->name, vcpu);
	if (!t->vm && vcpu >= nvcpus)
		return rec_fail(w, 12, "vcpu", "%s for vCPU index %u out of range (state has %u)",
				t->name, vcpu, nvcpus);
	if (t->size && len != t->size)
		return rec_fail(w, 16, "length", "%s must be %u bytes, is %u", t->name, t->size,
				len);
	if (!t->size && (len < t->min || len > t->max || len % t->elem))
		return rec_fail(w, 16, "length", "%s must be %u..%u bytes in units of %u, is %u",
				t->name, t->min, t->max, t->elem, len);
	if (type == KQ_REC_VM) {
		uint32_t mode;
		memcpy(&mode, data, 4);
		if (mode > 2)
			return rec_fail(w, KQ_STATE_REC_HEADER, "irqchip",
					"irqchip mode %u unknown (0 none, 1 kernel, 2 split)",
					mode);
	}
	if (type == KQ_REC_NESTED) {
		uint32_t size;
		memcpy(&size, data + offsetof(struct kvm_nested_state, size), 4);
		if (size != len)
			return rec_fail(w, KQ_STATE_REC_HEADER + 4, "nested.size",
					"nested state says %u bytes, the record holds %u", size,
					len);
	}
	return 0;
}

struct kq_state *kq_state_new(uint32_t nvcpus)
{
	if (nvcpus < 1 || nvcpus > KQ_STATE_MAX_VCPUS) {
		kq_err_set("state: %u vCPUs, must be 1..%u", nvcpus, KQ_STATE_MAX_VCPUS);
		return NULL;
	}
	struct kq_state *s = calloc(1, sizeof(*s));
	if (!s) {
		kq_err_set("out of memory for a state");
		return NULL;
	}
	s->nvcpus = nvcpus;
	s->minor = KQ_STATE_MINOR;
	return s;
}

void kq_state_free(struct kq_state *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->nrecords; i++)
		free(s->records[i].data);
	free(s->records);
	free(s);
}

static bool same_slot(const struct kq_state_record *r, const struct kq_rec_type *t, uint32_t vcpu)
{
	const struct kq_rec_type *rt = kq_rec_type_find(r->type);
	return rt && rt->group == t->group && r->vcpu == vcpu;
}

int kq_rec_append(struct kq_state *s, uint16_t type, uint16_t version, uint32_t vcpu,
		  const void *data, uint32_t len)
{
	if (s->nrecords == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 32;
		void *p = realloc(s->records, cap * sizeof(*s->records));
		if (!p)
			return kq_err_set("out of memory for %u state records", cap);
		s->records = p;
		s->cap = cap;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return kq_err_set("out of memory for a %u-byte state record", len);
	if (len)
		memcpy(copy, data, len);
	s->records[s->nrecords++] = (struct kq_state_record){type, version, vcpu, len, copy};
	return 0;
}

int kq_state_add(struct kq_state *s, uint16_t type, uint32_t vcpu, const void *data, uint32_t len)
{
	struct kq_rec_where w = {.index = s->nrecords};
	const struct kq_rec_type *t;
	if (kq_rec_check(&w, s->nvcpus, type, KQ_STATE_REC_VERSION, vcpu, data, len, &t) < 0)
		return -1;
	if (!t)
		return kq_err_set("state record %u: type 0x%04x unknown", s->nrecords, type);
	/* Adding is rare and states are small: a linear scan finds duplicates. */
	for (uint32_t i = 0; i < s->nrecords; i++)
		if (same_slot(&s->records[i], t, vcpu))
			return kq_err_set("state record %u: %s duplicates record %u (%s) for %s",
					  s->nrecords, t->name, i,
					  kq_state_type_name(s->records[i].type),
					  t->vm ? "the VM" : "the same vCPU");
	return kq_rec_append(s, type, KQ_STATE_REC_VERSION, vcpu, data, len);
}

static bool has(const struct kq_state *s, uint16_t type, uint32_t vcpu)
{
	if (kq_state_find(s, type, vcpu))
		return true;
	if (type == KQ_REC_SREGS)
		return kq_state_find(s, KQ_REC_SREGS2, vcpu) != NULL;
	if (type == KQ_REC_FPU)
		return kq_state_find(s, KQ_REC_XSAVE, vcpu) != NULL;
	return false;
}

static const char *alt_name(uint16_t type)
{
	return type == KQ_REC_SREGS ? "sregs (or sregs2)"
	       : type == KQ_REC_FPU ? "fpu (or xsave)"
				    : kq_state_type_name(type);
}

bool kq_rec_missing(const struct kq_state *s, char *msg, size_t len)
{
	static const uint16_t vm_kernel[] = {KQ_REC_PIC_MASTER, KQ_REC_PIC_SLAVE, KQ_REC_IOAPIC};
	static const uint16_t cpu_all[] = {KQ_REC_REGS,	     KQ_REC_SREGS,   KQ_REC_FPU,
					   KQ_REC_MSRS,	     KQ_REC_EVENTS,  KQ_REC_MP_STATE,
					   KQ_REC_DEBUGREGS, KQ_REC_TSC_KHZ, KQ_REC_CPUID};
	const struct kq_state_record *vm = kq_state_find(s, KQ_REC_VM, KQ_STATE_VM);
	if (!vm || !has(s, KQ_REC_CLOCK, KQ_STATE_VM)) {
		snprintf(msg, len, "missing mandatory record: %s for the VM", vm ? "clock" : "vm");
		return true;
	}
	uint32_t mode;
	memcpy(&mode, vm->data, 4);
	for (int k = 0; mode == KQ_IRQCHIP_KERNEL && k < 3; k++)
		if (!has(s, vm_kernel[k], KQ_STATE_VM)) {
			snprintf(msg, len,
				 "missing mandatory record: %s for a VM with the in-kernel irqchip",
				 kq_state_type_name(vm_kernel[k]));
			return true;
		}
	for (uint32_t v = 0; v < s->nvcpus; v++) {
		uint16_t miss = 0;
		for (size_t k = 0; !miss && k < sizeof(cpu_all) / sizeof(cpu_all[0]); k++)
			if (!has(s, cpu_all[k], v))
				miss = cpu_all[k];
		if (!miss && mode != KQ_IRQCHIP_NONE && !has(s, KQ_REC_LAPIC, v))
			miss = KQ_REC_LAPIC;
		if (miss) {
			snprintf(msg, len, "missing mandatory record: %s for vCPU %u",
				 alt_name(miss), v);
			return true;
		}
	}
	return false;
}

const struct kq_state_record *kq_state_find(const struct kq_state *s, uint16_t type, uint32_t vcpu)
{
	for (uint32_t i = 0; i < s->nrecords; i++)
		if (s->records[i].type == type && s->records[i].vcpu == vcpu)
			return &s->records[i];
	return NULL;
}

int kq_state_foreach_record(const struct kq_state *s, kq_state_record_fn fn, void *ctx)
{
	for (uint32_t i = 0; i < s->nrecords; i++) {
		int r = fn(ctx, &s->records[i], kq_state_type_name(s->records[i].type));
		if (r)
			return r;
	}
	return 0;
}

void kq_state_describe(const struct kq_state *s, FILE *f, const char *prefix)
{
	for (uint32_t i = 0; i < s->nrecords; i++) {
		const struct kq_state_record *r = &s->records[i];
		char who[16];
		if (r->vcpu == KQ_STATE_VM)
			snprintf(who, sizeof(who), "vm");
		else
			snprintf(who, sizeof(who), "vcpu%u", r->vcpu);
		fprintf(f, "%s%s %s %u bytes\n", prefix ? prefix : "", kq_state_type_name(r->type),
			who, r->len);
	}
}
