/* The byte format of a saved state (layout in state_record.h, docs/state.md):
 * encoding, and a decoder that trusts nothing it reads. */
#include "vmm/state_record_internal.h"
#include "vmm/err.h"

#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define NGROUPS 0x20 /* record groups are type values below this */

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}
static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}
static void put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}
static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}
static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}
static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

int kq_state_encode(const struct kq_state *s, uint8_t **buf, size_t *len)
{
	size_t total = KQ_STATE_HEADER_SIZE;
	for (uint32_t i = 0; i < s->nrecords; i++) {
		if (!kq_rec_type_find(s->records[i].type))
			return kq_err_set("state record %u: type 0x%04x is unknown to this writer "
					  "(kept from format %u.%u); refusing to encode it",
					  i, s->records[i].type, KQ_STATE_MAJOR, s->minor);
		total += KQ_STATE_REC_HEADER + (size_t)s->records[i].len;
	}
	uint8_t *b = malloc(total);
	if (!b)
		return kq_err_set("out of memory for a %zu-byte encoded state", total);
	memcpy(b, KQ_STATE_MAGIC, 8);
	put16(b + 8, KQ_STATE_MAJOR);
	put16(b + 10, KQ_STATE_MINOR);
	put32(b + 12, s->nvcpus);
	put32(b + 16, s->nrecords);
	put64(b + 20, total);
	put64(b + 28, XXH3_64bits(b, 28));
	size_t off = KQ_STATE_HEADER_SIZE;
	for (uint32_t i = 0; i < s->nrecords; i++) {
		const struct kq_state_record *r = &s->records[i];
		uint8_t *p = b + off;
		put16(p + 8, r->type);
		put16(p + 10, r->version);
		put32(p + 12, r->vcpu);
		put32(p + 16, r->len);
		if (r->len)
			memcpy(p + KQ_STATE_REC_HEADER, r->data, r->len);
		put64(p, XXH3_64bits(p + 8, KQ_STATE_REC_HEADER - 8 + (size_t)r->len));
		off += KQ_STATE_REC_HEADER + r->len;
	}
	*buf = b;
	*len = total;
	return 0;
}

static int at(size_t off, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int at(size_t off, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return kq_err_set("state byte %zu (%s): %s", off, field, msg);
}

static int check_header(const uint8_t *b, size_t len, uint32_t *nvcpus, uint32_t *nrec,
			uint16_t *minor)
{
	if (len < 8)
		return at(len, "header.magic", "truncated: %zu bytes, the header needs %d", len,
			  KQ_STATE_HEADER_SIZE);
	if (memcmp(b, KQ_STATE_MAGIC, 8) != 0)
		return at(0, "header.magic", "bad magic: not a kvmqual state");
	if (len < 12)
		return at(len, "header.version", "truncated: %zu bytes, the header needs %d", len,
			  KQ_STATE_HEADER_SIZE);
	uint16_t major = get16(b + 8);
	*minor = get16(b + 10);
	if (major != KQ_STATE_MAJOR)
		return at(8, "header.major", "unknown format version %u.%u (this reader: %u.%u)",
			  major, *minor, KQ_STATE_MAJOR, KQ_STATE_MINOR);
	if (len < KQ_STATE_HEADER_SIZE)
		return at(len, "header", "truncated: %zu bytes, the header needs %d", len,
			  KQ_STATE_HEADER_SIZE);
	if (get64(b + 28) != XXH3_64bits(b, 28))
		return at(28, "header.checksum", "checksum mismatch over header bytes 0..27");
	uint64_t total = get64(b + 20);
	if (total > len)
		return at(len, "header.total_length",
			  "truncated: the header says %llu bytes, %zu present",
			  (unsigned long long)total, len);
	if (total < len)
		return at(total, "header.total_length",
			  "%zu bytes given, the header says %llu: trailing bytes", len,
			  (unsigned long long)total);
	*nvcpus = get32(b + 12);
	if (*nvcpus < 1 || *nvcpus > KQ_STATE_MAX_VCPUS)
		return at(12, "header.vcpus", "%u vCPUs, must be 1..%u", *nvcpus,
			  KQ_STATE_MAX_VCPUS);
	*nrec = get32(b + 16);
	if (*nrec > (len - KQ_STATE_HEADER_SIZE) / KQ_STATE_REC_HEADER)
		return at(16, "header.record_count", "%u records cannot fit in %zu bytes", *nrec,
			  len);
	return 0;
}

/* One record at b + off of an encoding of `total` bytes. */
static int decode_record(struct kq_state *s, const uint8_t *b, size_t total, size_t *offp,
			 uint32_t i, uint32_t nrec, int32_t *seen)
{
	size_t off = *offp;
	if (total - off < KQ_STATE_REC_HEADER)
		return at(off, "record header",
			  "record %u of %u: its %d-byte header runs past the end (%zu)", i, nrec,
			  KQ_STATE_REC_HEADER, total);
	const uint8_t *p = b + off;
	uint32_t len = get32(p + 16);
	if (len > total - off - KQ_STATE_REC_HEADER)
		return at(off + 16, "record length",
			  "record %u: %u bytes from byte %zu run past the end (%zu)", i, len,
			  off + KQ_STATE_REC_HEADER, total);
	if (get64(p) != XXH3_64bits(p + 8, KQ_STATE_REC_HEADER - 8 + (size_t)len))
		return at(off, "record checksum", "record %u: checksum mismatch", i);
	uint16_t type = get16(p + 8), version = get16(p + 10);
	uint32_t vcpu = get32(p + 12);
	const uint8_t *data = p + KQ_STATE_REC_HEADER;
	struct kq_rec_where w = {.from_bytes = true, .offset = off, .index = i};
	const struct kq_rec_type *t;
	if (kq_rec_check(&w, s->nvcpus, type, version, vcpu, data, len, &t) < 0)
		return -1;
	if (!t && s->minor <= KQ_STATE_MINOR)
		return at(off + 8, "record type", "record %u: type 0x%04x unknown in format %u.%u",
			  i, type, KQ_STATE_MAJOR, s->minor);
	if (!t && vcpu != KQ_STATE_VM && vcpu >= s->nvcpus)
		return at(off + 12, "record vcpu", "record %u: vCPU index %u out of range (%u)", i,
			  vcpu, s->nvcpus);
	if (t) {
		int32_t *slot = &seen[(vcpu == KQ_STATE_VM ? 0 : vcpu + 1) * NGROUPS + t->group];
		if (*slot >= 0) {
			char who[24];
			if (t->vm)
				snprintf(who, sizeof(who), "the VM");
			else
				snprintf(who, sizeof(who), "vCPU %u", vcpu);
			return at(off, "record type",
				  "record %u: duplicate record: %s for %s already given by "
				  "record %d (%s)",
				  i, t->name, who, *slot,
				  kq_state_type_name(s->records[*slot].type));
		}
		*slot = (int32_t)i;
	}
	if (kq_rec_append(s, type, version, vcpu, data, len) < 0)
		return -1;
	*offp = off + KQ_STATE_REC_HEADER + len;
	return 0;
}

int kq_state_decode(const uint8_t *buf, size_t len, struct kq_state **out)
{
	uint32_t nvcpus = 0, nrec = 0;
	uint16_t minor = 0;
	*out = NULL;
	if (check_header(buf, len, &nvcpus, &nrec, &minor) < 0)
		return -1;
	struct kq_state *s = kq_state_new(nvcpus);
	int32_t *seen = malloc((nvcpus + 1) * NGROUPS * sizeof(*seen));
	if (!s || !seen) {
		kq_state_free(s);
		free(seen);
		return kq_err_set("out of memory decoding a state of %u vCPUs", nvcpus);
	}
	memset(seen, 0xff, (nvcpus + 1) * NGROUPS * sizeof(*seen)); /* all -1 */
	s->minor = minor;
	size_t off = KQ_STATE_HEADER_SIZE;
	int r = 0;
	for (uint32_t i = 0; i < nrec && r == 0; i++) {
		r = decode_record(s, buf, len, &off, i, nrec, seen);
	}
	if (r == 0 && off != len)
		r = at(off, "header.record_count",
		       "%u records end at byte %zu, the header says %zu bytes", nrec, off, len);
	char msg[160];
	if (r == 0 && kq_rec_missing(s, msg, sizeof(msg)))
		r = at(off, "records", "%s", msg);
	free(seen);
	if (r < 0) {
		kq_state_free(s);
		return -1;
	}
	*out = s;
	return 0;
}
