/* Frame header and checksum of the migration stream (see proto.h). */
#include "migration-bench/proto.h"

#include "migration-bench/hash.h"

#include <stdio.h>
#include <string.h>
#include <xxhash.h>

static const char *const type_names[KQ_MF_MAX] = {
    [KQ_MF_SETUP] = "SETUP", [KQ_MF_PAGES] = "PAGES",	    [KQ_MF_ITER] = "ITER",
    [KQ_MF_STATE] = "STATE", [KQ_MF_COMPLETE] = "COMPLETE", [KQ_MF_ACK] = "ACK",
    [KQ_MF_ABORT] = "ABORT",
};

const char *kq_mig_type_name(uint32_t type)
{
	return type > 0 && type < KQ_MF_MAX ? type_names[type] : "unknown";
}

uint64_t kq_mig_frame_sum(uint16_t type, const uint8_t *payload, uint32_t len, uint64_t *hashes,
			  uint32_t *nhashes)
{
	*nhashes = 0;
	if (type == KQ_MF_PAGES)
		return kq_mig_pages_sum(payload, len, hashes, nhashes);
	return kq_mig_xxh3(len ? payload : (const uint8_t *)"", len);
}

static void le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

size_t kq_mig_frame_begin(struct kq_bytes *out)
{
	size_t at = out->len;
	if (kq_bytes_reserve(out, KQ_MIG_HDR_SIZE))
		out->len += KQ_MIG_HDR_SIZE;
	return at;
}

void kq_mig_frame_end_sum(struct kq_bytes *out, size_t at, uint16_t type, uint32_t seq,
			  uint64_t sum)
{
	if (out->failed || out->len < at + KQ_MIG_HDR_SIZE)
		return;
	uint8_t *h = out->p + at;
	uint32_t len = (uint32_t)(out->len - at - KQ_MIG_HDR_SIZE);
	le(h, KQ_MIG_MAGIC, 4);
	le(h + 4, KQ_MIG_VERSION, 2);
	le(h + 6, type, 2);
	le(h + 8, len, 4);
	le(h + 12, seq, 4);
	le(h + 16, sum, 8);
	le(h + 24, XXH32(h, 24, 0), 4);
	le(h + 28, 0, 4);
}

void kq_mig_frame_end(struct kq_bytes *out, size_t at, uint16_t type, uint32_t seq)
{
	if (out->failed || out->len < at + KQ_MIG_HDR_SIZE)
		return;
	uint8_t *payload = out->p + at + KQ_MIG_HDR_SIZE;
	uint32_t n;
	kq_mig_frame_end_sum(
	    out, at, type, seq,
	    kq_mig_frame_sum(type, payload, (uint32_t)(out->len - at - KQ_MIG_HDR_SIZE), NULL, &n));
}

void kq_mig_frame_put(struct kq_bytes *out, uint16_t type, uint32_t seq, const void *payload,
		      uint32_t len)
{
	size_t at = kq_mig_frame_begin(out);
	kq_bytes_put(out, payload, len);
	kq_mig_frame_end(out, at, type, seq);
}

void kq_mig_frame_name(char *dst, size_t n, const struct kq_mig_hdr *h)
{
	snprintf(dst, n, "frame %u (%s)", h->seq, kq_mig_type_name(h->type));
}

int kq_mig_hdr_decode(const uint8_t in[KQ_MIG_HDR_SIZE], uint64_t off, uint32_t want_seq,
		      struct kq_mig_hdr *h, char *err, size_t errlen)
{
	h->magic = (uint32_t)get(in, 4);
	h->version = (uint16_t)get(in + 4, 2);
	h->type = (uint16_t)get(in + 6, 2);
	h->len = (uint32_t)get(in + 8, 4);
	h->seq = (uint32_t)get(in + 12, 4);
	h->sum = get(in + 16, 8);
	h->hdr_sum = (uint32_t)get(in + 24, 4);
	unsigned long long o = (unsigned long long)off;
	if (h->magic == KQ_MIG_SEALED_MAGIC) {
		snprintf(err, errlen,
			 "frame %u (header) byte %llu: field magic: the peer seals its stream with "
			 "a key (--key) and this end has none; refused",
			 want_seq, o);
		return -1;
	}
	if (h->magic != KQ_MIG_MAGIC) {
		snprintf(err, errlen,
			 "frame %u (header) byte %llu: field magic: 0x%08x is not a kvmqual "
			 "migration frame (want 0x%08x)",
			 want_seq, o, h->magic, KQ_MIG_MAGIC);
		return -1;
	}
	if (h->version != KQ_MIG_VERSION) {
		snprintf(err, errlen,
			 "frame %u (header) byte %llu: field version: the peer speaks migration "
			 "protocol version %u, this kvmqual speaks version %u",
			 want_seq, o + 4, h->version, KQ_MIG_VERSION);
		return -1;
	}
	uint32_t hs = XXH32(in, 24, 0);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	hs = h->hdr_sum; /* the fuzzer reaches the decoders behind the checksums */
#endif
	if (hs != h->hdr_sum || get(in + 28, 4) != 0) {
		snprintf(
		    err, errlen,
		    "frame %u (header) byte %llu: field header checksum: bytes %llu..%llu hash "
		    "to %08x, the header says %08x: the header was corrupted",
		    want_seq, o + 24, o, o + 23, hs, h->hdr_sum);
		return -1;
	}
	if (h->type == 0 || h->type >= KQ_MF_MAX) {
		snprintf(err, errlen, "frame %u (header) byte %llu: field type: unknown type %u",
			 want_seq, o + 6, h->type);
		return -1;
	}
	if (h->len > KQ_MIG_MAX_PAYLOAD) {
		snprintf(err, errlen,
			 "frame %u (%s) byte %llu: field length: %u bytes exceeds the limit of %u",
			 want_seq, kq_mig_type_name(h->type), o + 8, h->len, KQ_MIG_MAX_PAYLOAD);
		return -1;
	}
	if (h->seq != want_seq) {
		snprintf(err, errlen,
			 "frame %u (%s) byte %llu: field seq: got %u, a frame was lost or repeated",
			 want_seq, kq_mig_type_name(h->type), o + 12, h->seq);
		return -1;
	}
	return 0;
}

int kq_mig_sum_check(const struct kq_mig_hdr *h, uint64_t sum, uint64_t off, char *err,
		     size_t errlen)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	sum = h->sum;
#endif
	if (sum == h->sum)
		return 0;
	snprintf(err, errlen,
		 "frame %u (%s) byte %llu: field checksum: payload of %u bytes (from byte %llu) "
		 "hashes to %016llx, the header says %016llx: the frame was corrupted",
		 h->seq, kq_mig_type_name(h->type), (unsigned long long)off + 16, h->len,
		 (unsigned long long)off + KQ_MIG_HDR_SIZE, (unsigned long long)sum,
		 (unsigned long long)h->sum);
	return -1;
}

int kq_mig_payload_verify(const uint8_t hdr[KQ_MIG_HDR_SIZE], const struct kq_mig_hdr *h,
			  const uint8_t *payload, uint64_t off, char *err, size_t errlen)
{
	uint32_t n;
	return kq_mig_sum_check(h, kq_mig_frame_sum(h->type, payload, h->len, NULL, &n), off, err,
				errlen);
}
