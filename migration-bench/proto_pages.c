/* PAGES frames: runs of consecutive pages, zero pages as bits, data raw or
 * one zstd frame per run (see proto.h). */
#include "migration-bench/proto.h"

#include "migration-bench/hash.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* The contexts and the 1 MiB buffer are made on first use: a sender only
 * compresses, a receiver only decompresses, and a stream without a
 * compressed run needs neither. */
struct kq_mig_zstd {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	int level;
	uint8_t *buf; /* the data of one run: compressed (sending) or expanded (receiving) */
};

struct kq_mig_zstd *kq_mig_zstd_new(int level)
{
	struct kq_mig_zstd *z = calloc(1, sizeof(*z));
	if (z)
		z->level = level;
	return z;
}

/* 0 when z has its buffer and the context for the direction; -1: no memory. */
static int zstd_ready(struct kq_mig_zstd *z, bool compress)
{
	if (!z->buf && !(z->buf = malloc(KQ_MIG_MAX_RUN * KQ_MIG_PAGE)))
		return -1;
	if (compress)
		return z->c || (z->c = ZSTD_createCCtx()) ? 0 : -1;
	return z->d || (z->d = ZSTD_createDCtx()) ? 0 : -1;
}

void kq_mig_zstd_free(struct kq_mig_zstd *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z->buf);
	free(z);
}

bool kq_mig_page_is_zero(const uint8_t *p)
{
	/* A page that holds data mostly shows it in its first line: stop at the
	 * first line that is not zero rather than reading the whole page. */
	const uint64_t *q = (const uint64_t *)(const void *)p;
	for (size_t i = 0; i < KQ_MIG_PAGE / 8; i += 8)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] |
		    q[i + 7])
			return false;
	return true;
}

/* Layout: u64 gpa | u32 npages | u32 flags | u32 raw_len | u32 data_len |
 * zero bitmap (ceil(npages / 8) bytes, unused high bits clear) | data. */
int kq_mig_run_put(struct kq_bytes *out, uint64_t gpa, const uint8_t *mem, uint32_t npages,
		   struct kq_mig_zstd *z, const uint8_t *absent, struct kq_mig_run_stats *st,
		   uint64_t *sum)
{
	if (npages == 0 || npages > KQ_MIG_MAX_RUN)
		return -1;
	uint8_t zero[KQ_MIG_MAX_RUN / 8] = {0};
	uint32_t nz = 0;
	for (uint32_t i = 0; i < npages; i++)
		if ((absent && absent[i / 8] & (1u << (i % 8))) ||
		    kq_mig_page_is_zero(mem + (size_t)i * KQ_MIG_PAGE))
			zero[i / 8] |= (uint8_t)(1u << (i % 8));
		else
			nz++;
	uint32_t raw_len = nz * KQ_MIG_PAGE, bm = (npages + 7) / 8;
	size_t start = out->len;
	kq_bytes_u64(out, gpa);
	kq_bytes_u32(out, npages);
	size_t flags_at = out->len;
	kq_bytes_u32(out, 0);
	kq_bytes_u32(out, raw_len);
	size_t dlen_at = out->len;
	kq_bytes_u32(out, raw_len);
	kq_bytes_put(out, zero, bm);
	uint8_t *data = kq_bytes_reserve(out, raw_len);
	if (!data)
		return -1;
	/* Uncompressed, each page is hashed for the checksum right after it
	 * was copied, still in cache (see kq_mig_pages_sum). */
	uint64_t hashes[KQ_MIG_MAX_RUN];
	bool hash = sum && !z;
	uint8_t *w = data;
	for (uint32_t i = 0, k = 0; i < npages; i++)
		if (!(zero[i / 8] & (1u << (i % 8)))) {
			memcpy(w, mem + (size_t)i * KQ_MIG_PAGE, KQ_MIG_PAGE);
			if (hash)
				hashes[k++] = kq_mig_page_hash(w);
			w += KQ_MIG_PAGE;
		}
	uint32_t data_len = raw_len;
	if (z && raw_len) {
		if (zstd_ready(z, true) < 0)
			return -1;
		size_t c = ZSTD_compressCCtx(z->c, z->buf, KQ_MIG_MAX_RUN * KQ_MIG_PAGE, data,
					     raw_len, z->level);
		if (!ZSTD_isError(c) && c < raw_len) {
			memcpy(data, z->buf, c);
			data_len = (uint32_t)c;
			uint32_t f = KQ_MIG_RUN_ZSTD;
			for (int i = 0; i < 4; i++)
				out->p[flags_at + (size_t)i] = (uint8_t)(f >> (8 * i));
			for (int i = 0; i < 4; i++)
				out->p[dlen_at + (size_t)i] = (uint8_t)(data_len >> (8 * i));
		}
	}
	out->len += data_len;
	uint32_t nh;
	if (sum)
		*sum = hash ? kq_mig_pages_sum_hashes(out->p + start,
						      (size_t)(data - (out->p + start)), hashes, nz)
			    : kq_mig_pages_sum(out->p + start, (uint32_t)(out->len - start), NULL,
					       &nh);
	if (st) {
		st->pages += npages;
		st->zero_pages += npages - nz;
		st->raw_bytes += raw_len;
		st->wire_bytes += out->len - start;
	}
	return out->failed ? -1 : 0;
}

int kq_mig_run_decode_head(struct kq_rd *r, const struct kq_mig_setup *layout,
			   struct kq_mig_run *run, int *slot)
{
	memset(run, 0, sizeof(*run));
	size_t gpa_at = r->off;
	if (kq_rd_u64(r, "gpa", &run->gpa) < 0)
		return -1;
	if (run->gpa % KQ_MIG_PAGE)
		return kq_rd_fail(r, gpa_at, "gpa", "0x%llx is not page-aligned",
				  (unsigned long long)run->gpa);
	size_t at = r->off;
	if (kq_rd_u32(r, "npages", &run->npages) < 0)
		return -1;
	if (run->npages == 0 || run->npages > KQ_MIG_MAX_RUN)
		return kq_rd_fail(r, at, "npages", "%u is outside 1..%u", run->npages,
				  KQ_MIG_MAX_RUN);
	*slot = -1;
	for (uint32_t i = 0; i < layout->nslots; i++) {
		const struct kq_mig_slot *s = &layout->slots[i];
		if (run->gpa >= s->gpa && run->gpa - s->gpa < s->size &&
		    (uint64_t)run->npages * KQ_MIG_PAGE <= s->size - (run->gpa - s->gpa))
			*slot = (int)i;
	}
	if (*slot < 0)
		return kq_rd_fail(
		    r, gpa_at, "gpa", "pages 0x%llx..0x%llx lie outside every memory slot",
		    (unsigned long long)run->gpa,
		    (unsigned long long)(run->gpa + (uint64_t)run->npages * KQ_MIG_PAGE));
	at = r->off;
	if (kq_rd_u32(r, "flags", &run->flags) < 0)
		return -1;
	if (run->flags & ~KQ_MIG_RUN_ZSTD)
		return kq_rd_fail(r, at, "flags", "unknown bits 0x%x",
				  run->flags & ~KQ_MIG_RUN_ZSTD);
	size_t raw_at = r->off;
	kq_rd_u32(r, "raw_len", &run->raw_len);
	size_t dlen_at = r->off;
	kq_rd_u32(r, "data_len", &run->data_len);
	uint32_t bm = (run->npages + 7) / 8;
	size_t bm_at = r->off;
	const uint8_t *zb;
	if (kq_rd_ptr(r, "zero_bitmap", bm, &zb) < 0)
		return -1;
	memcpy(run->zero, zb, bm);
	if (run->npages % 8 && (zb[bm - 1] >> (run->npages % 8)))
		return kq_rd_fail(r, bm_at + bm - 1, "zero_bitmap", "bits set past page %u",
				  run->npages);
	uint32_t nz = 0;
	for (uint32_t i = 0; i < run->npages; i++)
		nz += !(run->zero[i / 8] & (1u << (i % 8)));
	if (run->raw_len != nz * KQ_MIG_PAGE)
		return kq_rd_fail(r, raw_at, "raw_len", "%u, but the bitmap leaves %u data pages",
				  run->raw_len, nz);
	if (!(run->flags & KQ_MIG_RUN_ZSTD) && run->data_len != run->raw_len)
		return kq_rd_fail(r, dlen_at, "data_len", "%u for %u bytes of uncompressed pages",
				  run->data_len, run->raw_len);
	if ((run->flags & KQ_MIG_RUN_ZSTD) && run->raw_len == 0)
		return kq_rd_fail(r, at, "flags", "compressed run without data pages");
	return 0;
}

int kq_mig_run_decode(struct kq_rd *r, const struct kq_mig_setup *layout, struct kq_mig_run *run,
		      int *slot)
{
	if (kq_mig_run_decode_head(r, layout, run, slot) < 0 ||
	    kq_rd_ptr(r, "data", run->data_len, &run->data) < 0)
		return -1;
	return kq_rd_end(r);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t kq_mig_pages_sum_hashes(const uint8_t *head, size_t head_len, const uint64_t *hashes,
				 uint32_t n)
{
	uint8_t b[KQ_MIG_RUN_HEAD + KQ_MIG_MAX_RUN / 8 + 8 * KQ_MIG_MAX_RUN];
	if (head_len > KQ_MIG_RUN_HEAD + KQ_MIG_MAX_RUN / 8 || n > KQ_MIG_MAX_RUN)
		return 0; /* not a run's head: no payload sums to it */
	memcpy(b, head, head_len);
	for (uint32_t i = 0; i < n; i++)
		for (int j = 0; j < 8; j++)
			b[head_len + 8 * i + (size_t)j] = (uint8_t)(hashes[i] >> (8 * j));
	return kq_mig_xxh3(b, head_len + 8 * (size_t)n);
}

uint64_t kq_mig_pages_sum(const uint8_t *payload, uint32_t len, uint64_t *hashes, uint32_t *nhashes)
{
	*nhashes = 0;
	uint32_t np = len >= KQ_MIG_RUN_HEAD ? le32(payload + 8) : 0;
	size_t head = KQ_MIG_RUN_HEAD + (np + 7) / 8;
	uint32_t nz = 0;
	if (np >= 1 && np <= KQ_MIG_MAX_RUN && le32(payload + 12) == 0 && len >= head) {
		for (uint32_t i = 0; i < np; i++)
			nz += !(payload[KQ_MIG_RUN_HEAD + i / 8] & (1u << (i % 8)));
		if (len == head + (size_t)nz * KQ_MIG_PAGE) { /* a well-formed raw run */
			uint64_t own[KQ_MIG_MAX_RUN], *h = hashes ? hashes : own;
			for (uint32_t i = 0; i < nz; i++)
				h[i] = kq_mig_page_hash(payload + head + (size_t)i * KQ_MIG_PAGE);
			*nhashes = nz;
			return kq_mig_pages_sum_hashes(payload, head, h, nz);
		}
	}
	return kq_mig_xxh3(len ? payload : (const uint8_t *)"", len);
}

uint64_t kq_mig_page_hash(const uint8_t *p)
{
	uint64_t h = kq_mig_xxh3(p, KQ_MIG_PAGE);
	return h ? h : 1;
}

uint64_t kq_mig_zero_page_hash(void)
{
	static uint64_t h;
	if (!h) {
		static const uint8_t zero[KQ_MIG_PAGE];
		h = kq_mig_page_hash(zero);
	}
	return h;
}

int kq_mig_run_apply(const struct kq_mig_run *run, uint8_t *dst, struct kq_mig_zstd *z,
		     const uint8_t *absent, uint64_t *hashes, struct kq_rd *r)
{
	const uint8_t *data = run->data;
	if (run->flags & KQ_MIG_RUN_ZSTD) {
		size_t data_at = r->len - run->data_len;
		if (!z)
			return kq_rd_fail(r, data_at, "data", "compressed run, no zstd context");
		unsigned long long fcs = ZSTD_getFrameContentSize(run->data, run->data_len);
		if (fcs != run->raw_len)
			return kq_rd_fail(r, data_at, "data",
					  "zstd frame declares %llu bytes, raw_len is %u", fcs,
					  run->raw_len);
		if (zstd_ready(z, false) < 0)
			return kq_rd_fail(r, data_at, "data", "zstd: out of memory");
		size_t n =
		    ZSTD_decompressDCtx(z->d, z->buf, run->raw_len, run->data, run->data_len);
		if (ZSTD_isError(n))
			return kq_rd_fail(r, data_at, "data", "zstd: %s", ZSTD_getErrorName(n));
		if (n != run->raw_len)
			return kq_rd_fail(r, data_at, "data", "zstd gave %zu bytes, raw_len is %u",
					  n, run->raw_len);
		data = z->buf;
	}
	const uint64_t *dh = run->flags & KQ_MIG_RUN_ZSTD ? NULL : run->data_hash;
	for (uint32_t i = 0, k = 0; i < run->npages; i++) {
		uint8_t *p = dst + (size_t)i * KQ_MIG_PAGE;
		if (run->zero[i / 8] & (1u << (i % 8))) {
			/* A never-populated page is zero already: touching it would map it. */
			if (!(absent && absent[i / 8] & (1u << (i % 8))) && !kq_mig_page_is_zero(p))
				memset(p, 0, KQ_MIG_PAGE);
			if (hashes)
				hashes[i] = kq_mig_zero_page_hash();
		} else if (data) {
			/* Hashed from the payload, still in cache, unless the checksum
			 * check did already. */
			if (hashes)
				hashes[i] = dh ? dh[k] : kq_mig_page_hash(data);
			memcpy(p, data, KQ_MIG_PAGE);
			data += KQ_MIG_PAGE;
			k++;
		}
	}
	return 0;
}
