/* The saved-state byte format: round trips of synthetic states, every class
 * of corruption detected with the right byte offset and field, every single
 * flipped byte and every truncation rejected, and hostile resealed records
 * (checksums recomputed) decoded safely. Run under ASan by `make SAN=1`. */
#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/state_record.h"
#include "vmm/vm.h"

#include <endian.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <xxhash.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint8_t next_byte(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint8_t)(rng >> 56);
}

static int add_random(struct kq_state *s, uint16_t type, uint32_t vcpu, uint32_t len)
{
	uint8_t *p = malloc(len);
	for (uint32_t i = 0; i < len; i++)
		p[i] = next_byte();
	if (type == KQ_REC_VM)
		memset(p, 0, 4), p[0] = KQ_IRQCHIP_KERNEL;
	if (type == KQ_REC_NESTED)
		memcpy(p + 4, &len, 4);
	int r = kq_state_add(s, type, vcpu, p, len);
	free(p);
	return r;
}

/* A state with every record type, filled with pseudo-random bytes. */
static struct kq_state *full_state(uint32_t nvcpus, uint16_t skip_type, uint32_t skip_vcpu)
{
	static const struct {
		uint16_t type;
		uint32_t len;
	} vm[] = {{KQ_REC_VM, 4},
		  {KQ_REC_CLOCK, sizeof(struct kvm_clock_data)},
		  {KQ_REC_PIC_MASTER, sizeof(struct kvm_pic_state)},
		  {KQ_REC_PIC_SLAVE, sizeof(struct kvm_pic_state)},
		  {KQ_REC_IOAPIC, sizeof(struct kvm_ioapic_state)},
		  {KQ_REC_PIT2, sizeof(struct kvm_pit_state2)}},
	  cpu[] = {{KQ_REC_REGS, sizeof(struct kvm_regs)},
		   {KQ_REC_SREGS2, sizeof(struct kvm_sregs2)},
		   {KQ_REC_XSAVE, 4096 + 832},
		   {KQ_REC_XCRS, sizeof(struct kvm_xcrs)},
		   {KQ_REC_MSRS, 5 * KQ_STATE_MSR_ENTRY},
		   {KQ_REC_MSRS_DROPPED, 8},
		   {KQ_REC_LAPIC, sizeof(struct kvm_lapic_state)},
		   {KQ_REC_EVENTS, sizeof(struct kvm_vcpu_events)},
		   {KQ_REC_MP_STATE, sizeof(struct kvm_mp_state)},
		   {KQ_REC_DEBUGREGS, sizeof(struct kvm_debugregs)},
		   {KQ_REC_TSC_KHZ, 8},
		   {KQ_REC_TSC_OFFSET, 8},
		   {KQ_REC_CPUID, 3 * sizeof(struct kvm_cpuid_entry2)},
		   {KQ_REC_NESTED, sizeof(struct kvm_nested_state) + 64}};
	struct kq_state *s = kq_state_new(nvcpus);
	for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++)
		if (!(vm[i].type == skip_type && skip_vcpu == KQ_STATE_VM) &&
		    add_random(s, vm[i].type, KQ_STATE_VM, vm[i].len) < 0)
			printf("# add: %s\n", kq_err());
	for (uint32_t v = 0; v < nvcpus; v++)
		for (size_t i = 0; i < sizeof(cpu) / sizeof(cpu[0]); i++)
			if (!(cpu[i].type == skip_type && skip_vcpu == v) &&
			    add_random(s, cpu[i].type, v, cpu[i].len) < 0)
				printf("# add: %s\n", kq_err());
	return s;
}

static int same_state(const struct kq_state *a, const struct kq_state *b)
{
	if (a->nvcpus != b->nvcpus || a->nrecords != b->nrecords)
		return 0;
	for (uint32_t i = 0; i < a->nrecords; i++) {
		const struct kq_state_record *x = &a->records[i], *y = &b->records[i];
		if (x->type != y->type || x->version != y->version || x->vcpu != y->vcpu ||
		    x->len != y->len || memcmp(x->data, y->data, x->len) != 0)
			return 0;
	}
	return 1;
}

/* Byte offset of record i in an encoding. */
static size_t rec_off(const uint8_t *b, uint32_t i)
{
	size_t off = KQ_STATE_HEADER_SIZE;
	for (uint32_t k = 0; k < i; k++) {
		uint32_t len;
		memcpy(&len, b + off + 16, 4);
		off += KQ_STATE_REC_HEADER + le32toh(len);
	}
	return off;
}

/* Recomputes checksums after a deliberate change, so the check behind the
 * checksum is what must catch it. */
static void reseal_header(uint8_t *b)
{
	uint64_t h = htole64(XXH3_64bits(b, 28));
	memcpy(b + 28, &h, 8);
}
static void reseal_record(uint8_t *b, size_t off, size_t total)
{
	uint32_t len;
	memcpy(&len, b + off + 16, 4);
	if (le32toh(len) > total - off - KQ_STATE_REC_HEADER)
		return; /* a length past the end: nothing to hash */
	uint64_t h = htole64(XXH3_64bits(b + off + 8, KQ_STATE_REC_HEADER - 8 + le32toh(len)));
	memcpy(b + off, &h, 8);
}

/* Decodes a patched copy and expects failure with `want` in the message. */
static void expect_fail(const uint8_t *b, size_t len, const char *want, const char *what)
{
	struct kq_state *s = NULL;
	int r = kq_state_decode(b, len, &s);
	ok(r < 0 && s == NULL, "%s: rejected", what);
	has_substr(kq_err(), want, "%s: the error names the offset and field", what);
	kq_state_free(s);
}

static void put32_at(uint8_t *b, size_t off, uint32_t v)
{
	v = htole32(v);
	memcpy(b + off, &v, 4);
}

static void corruption_classes(const uint8_t *enc, size_t len)
{
	uint8_t *b = malloc(len + 16);
	char want[128];
	size_t r3 = rec_off(enc, 3), r6 = rec_off(enc, 6), r7 = rec_off(enc, 7),
	       r8 = rec_off(enc, 8);

	memcpy(b, enc, len);
	b[2] ^= 0x20;
	expect_fail(b, len, "state byte 0 (header.magic): bad magic", "bad magic");

	memcpy(b, enc, len);
	b[8] = 2;
	expect_fail(b, len, "state byte 8 (header.major): unknown format version 2.0",
		    "unknown major version");

	memcpy(b, enc, len);
	b[12] ^= 1;
	expect_fail(b, len, "state byte 28 (header.checksum)", "header checksum mismatch");

	memcpy(b, enc, len);
	b[r3 + KQ_STATE_REC_HEADER + 5] ^= 0x80;
	snprintf(want, sizeof(want), "state byte %zu (record checksum): record 3", r3);
	expect_fail(b, len, want, "record checksum mismatch");

	memcpy(b, enc, len);
	put32_at(b, r7 + 16, 0x7ffffff0);
	snprintf(want, sizeof(want), "state byte %zu (record length): record 7", r7 + 16);
	expect_fail(b, len, want, "record length past the end");

	memcpy(b, enc, len);
	put32_at(b, r6 + 16, 143); /* record 6 is vCPU 0's regs */
	reseal_record(b, r6, len);
	snprintf(want, sizeof(want), "state byte %zu (record 6 length): regs must be 144", r6 + 16);
	expect_fail(b, len, want, "wrong length for a fixed-size record");

	memcpy(b, enc, len);
	put32_at(b, r7 + 12, 7);
	reseal_record(b, r7, len);
	snprintf(want, sizeof(want),
		 "state byte %zu (record 7 vcpu): sregs2 for vCPU index 7 out of range", r7 + 12);
	expect_fail(b, len, want, "vCPU index out of range");

	memcpy(b, enc, len);
	put32_at(b, r3 + 12, 0);
	reseal_record(b, r3, len);
	snprintf(want, sizeof(want), "state byte %zu (record 3 vcpu): pic-slave is VM-wide",
		 r3 + 12);
	expect_fail(b, len, want, "VM-wide record naming a vCPU");

	/* vCPU 1's regs record claims vCPU 0: a duplicate. */
	uint32_t per_cpu = 14, r_dup = 6 + per_cpu;
	size_t rd = rec_off(enc, r_dup);
	memcpy(b, enc, len);
	put32_at(b, rd + 12, 0);
	reseal_record(b, rd, len);
	snprintf(want, sizeof(want),
		 "state byte %zu (record type): record %u: duplicate record: regs for vCPU 0 "
		 "already given by record 6",
		 rd, r_dup);
	expect_fail(b, len, want, "duplicate record");

	memcpy(b, enc, len);
	b[r8 + 8] = 0x77, b[r8 + 9] = 0x77;
	reseal_record(b, r8, len);
	snprintf(want, sizeof(want), "state byte %zu (record type): record 8: type 0x7777 unknown",
		 r8 + 8);
	expect_fail(b, len, want, "unknown record type in a known minor version");

	memcpy(b, enc, len);
	b[r8 + 10] = 2;
	reseal_record(b, r8, len);
	snprintf(want, sizeof(want), "state byte %zu (record 8 version)", r8 + 10);
	expect_fail(b, len, want, "record version from the future");

	memcpy(b, enc, len);
	put32_at(b, 16, 1000000);
	reseal_header(b);
	expect_fail(b, len, "state byte 16 (header.record_count)", "record count too large");

	memcpy(b, enc, len);
	put32_at(b, 16, 5);
	reseal_header(b);
	snprintf(want, sizeof(want), "state byte %zu (header.record_count): 5 records end",
		 rec_off(enc, 5));
	expect_fail(b, len, want, "record count too small");

	memcpy(b, enc, len);
	put32_at(b, 12, 0);
	reseal_header(b);
	expect_fail(b, len, "state byte 12 (header.vcpus)", "zero vCPUs");

	memcpy(b, enc, len);
	b[len] = 0;
	snprintf(want, sizeof(want), "state byte %zu (header.total_length)", len);
	expect_fail(b, len + 1, want, "trailing bytes");

	/* A newer minor version may carry types this reader does not know. */
	memcpy(b, enc, len);
	b[10] = 1;
	reseal_header(b);
	size_t r5 = rec_off(enc, 5); /* pit2, optional */
	b[r5 + 8] = 0x42, b[r5 + 9] = 0;
	reseal_record(b, r5, len);
	struct kq_state *s = NULL;
	int r = kq_state_decode(b, len, &s);
	ok(r == 0, "format 1.1: an unknown record type is kept%s%s", r ? ": " : "",
	   r ? kq_err() : "");
	if (s) {
		char *text = NULL;
		size_t tlen = 0;
		FILE *f = open_memstream(&text, &tlen);
		kq_state_describe(s, f, "# ");
		fclose(f);
		has_substr(text, "# unknown-0x0042 vm 112 bytes", "and listed by describe");
		uint8_t *again;
		size_t alen;
		ok(kq_state_encode(s, &again, &alen) < 0, "but never re-encoded as if understood");
		has_substr(kq_err(), "type 0x0042 is unknown to this writer", "saying why");
		free(text);
		kq_state_free(s);
	}
	free(b);
}

static void missing_records(void)
{
	static const struct {
		uint16_t type;
		uint32_t vcpu;
		const char *want;
	} cases[] = {
	    {KQ_REC_EVENTS, 1, "missing mandatory record: events for vCPU 1"},
	    {KQ_REC_CLOCK, KQ_STATE_VM, "missing mandatory record: clock for the VM"},
	    {KQ_REC_IOAPIC, KQ_STATE_VM,
	     "missing mandatory record: ioapic for a VM with the in-kernel irqchip"},
	    {KQ_REC_LAPIC, 0, "missing mandatory record: lapic for vCPU 0"},
	    {KQ_REC_SREGS2, 0, "missing mandatory record: sregs (or sregs2) for vCPU 0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct kq_state *s = full_state(2, cases[i].type, cases[i].vcpu);
		uint8_t *b;
		size_t len;
		kq_state_encode(s, &b, &len);
		char want[160];
		snprintf(want, sizeof(want), "state byte %zu (records): %s", len, cases[i].want);
		expect_fail(b, len, want, cases[i].want);
		free(b);
		kq_state_free(s);
	}
}

static void add_checks(void)
{
	struct kq_state *s = full_state(1, 0, 0);
	struct kvm_sregs sr = {0};
	ok(kq_state_add(s, KQ_REC_SREGS, 0, &sr, sizeof(sr)) < 0, "sregs after sregs2 refused");
	has_substr(kq_err(), "sregs duplicates record", "as a duplicate of the same state");
	uint8_t x[200] = {0};
	ok(kq_state_add(s, KQ_REC_REGS, 0, x, 100) < 0, "a short regs record refused");
	has_substr(kq_err(), "regs must be 144 bytes, is 100", "naming the size");
	ok(kq_state_add(s, KQ_REC_NESTED, 0, x, 200) < 0, "nested state whose size field lies");
	has_substr(kq_err(), "nested state says 0 bytes, the record holds 200", "refused");
	ok(kq_state_add(s, KQ_REC_CPUID, 0, x, 0) < 0, "an empty CPUID refused");
	ok(kq_state_add(s, 0x99, 0, x, 4) < 0, "an unknown type refused by add");
	ok(kq_state_new(0) == NULL && kq_state_new(KQ_STATE_MAX_VCPUS + 1) == NULL,
	   "vCPU counts outside 1..%d refused", KQ_STATE_MAX_VCPUS);
	kq_state_free(s);
}

/* Resealed random edits reach the checks behind the checksums; whatever they
 * produce must be rejected or decode to a state that re-encodes identically. */
static void hostile(const uint8_t *enc, size_t len, uint32_t nrec)
{
	uint8_t *b = malloc(len);
	int rejected = 0, accepted_ok = 0, bad = 0;
	for (int n = 0; n < 4000; n++) {
		memcpy(b, enc, len);
		uint32_t rec = next_byte() % nrec;
		size_t off = rec_off(enc, rec);
		size_t pos = off + 8 + next_byte() % 12; /* a header field of the record */
		b[pos] = next_byte();
		if (next_byte() & 1)
			b[off + KQ_STATE_REC_HEADER + next_byte() % 4] = next_byte();
		reseal_record(b, off, len);
		struct kq_state *s = NULL;
		if (kq_state_decode(b, len, &s) < 0) {
			rejected++;
			continue;
		}
		uint8_t *again = NULL;
		size_t alen = 0;
		if (kq_state_encode(s, &again, &alen) == 0 && alen == len &&
		    memcmp(again, b, len) == 0)
			accepted_ok++;
		else
			bad++;
		free(again);
		kq_state_free(s);
	}
	ok(bad == 0, "4000 resealed hostile edits: %d rejected, %d decoded to an identical state",
	   rejected, accepted_ok);
	free(b);
}

int main(void)
{
	struct kq_state *s = full_state(2, 0, 0);
	is_int(s->nrecords, 6 + 2 * 14, "a synthetic state of every record type, 2 vCPUs");
	uint8_t *enc;
	size_t len = 0;
	int r = kq_state_encode(s, &enc, &len);
	ok(r == 0, "encodes (%zu bytes)", len);
	struct kq_state *d = NULL;
	ok(kq_state_decode(enc, len, &d) == 0, "decodes (%s)", kq_err());
	ok(d && same_state(s, d), "the decoded state equals the original");
	uint8_t *enc2;
	size_t len2;
	ok(d && kq_state_encode(d, &enc2, &len2) == 0 && len2 == len && memcmp(enc, enc2, len) == 0,
	   "and re-encodes to the same bytes");
	free(enc2);
	const struct kq_state_record *x = kq_state_find(d, KQ_REC_XSAVE, 1);
	ok(x && x->len == 4096 + 832, "find: vCPU 1's xsave record");

	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);
	kq_state_describe(d, f, "# record ");
	fclose(f);
	has_substr(text, "# record regs vcpu0 144 bytes\n", "describe: one line per record");
	has_substr(text, "# record ioapic vm 216 bytes\n", "describe: VM-wide records");
	has_substr(text, "# record msrs vcpu1 60 bytes\n", "describe: variable-length records");
	free(text);
	kq_state_free(d);

	/* Every single changed byte is caught: there is no padding. */
	int flips_accepted = 0;
	size_t first_bad = 0;
	for (size_t i = 0; i < len; i++) {
		for (int pat = 0; pat < 2; pat++) {
			enc[i] ^= pat ? 0xff : 0x01;
			if (kq_state_decode(enc, len, &d) == 0) {
				if (!flips_accepted++)
					first_bad = i;
				kq_state_free(d);
			}
			enc[i] ^= pat ? 0xff : 0x01;
		}
	}
	ok(flips_accepted == 0, "every one of %zu bytes flipped (two patterns) is rejected", len);
	if (flips_accepted)
		printf("#   %d flips accepted, first at byte %zu\n", flips_accepted, first_bad);

	int trunc_ok = 1;
	for (size_t n = 0; n < len && trunc_ok; n++) {
		char want[64];
		snprintf(want, sizeof(want), "state byte %zu (", n);
		if (kq_state_decode(enc, n, &d) == 0 || !strstr(kq_err(), want) ||
		    !strstr(kq_err(), "truncated")) {
			printf("#   truncation to %zu bytes: %s\n", n, kq_err());
			trunc_ok = 0;
		}
	}
	ok(trunc_ok, "truncation at every length 0..%zu is rejected at that offset", len - 1);

	corruption_classes(enc, len);
	missing_records();
	add_checks();
	hostile(enc, len, s->nrecords);
	free(enc);
	kq_state_free(s);
	return done_testing();
}
