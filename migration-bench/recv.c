/* The destination's stream reader, apart from KVM (see recv.h). */
#include "migration-bench/recv.h"

#include "migration-bench/hash.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kq_mig_recv_init(struct kq_mig_recv *rx, const struct kq_mig_sink *sink)
{
	memset(rx, 0, sizeof(*rx));
	rx->sink = *sink;
	rx->zstd = kq_mig_zstd_new(1);
	if (!rx->zstd) {
		kq_mig_recv_free(rx);
		return -1;
	}
	return 0;
}

void kq_mig_recv_free(struct kq_mig_recv *rx)
{
	kq_mig_zstd_free(rx->zstd);
	rx->zstd = NULL;
	for (int i = 0; i < KQ_MIG_MAX_SLOTS; i++) {
		free(rx->page_hash[i]);
		rx->page_hash[i] = NULL;
	}
}

uint64_t kq_mig_mem_hash(const struct kq_mig_setup *s, const struct kq_mig_sink *sink)
{
	struct kq_mig_xxh3 *st = kq_mig_xxh3_new();
	uint64_t h[KQ_MIG_MAX_RUN];
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	if (!st)
		return 0;
	kq_mig_xxh3_reset(st);
	for (uint32_t i = 0; i < s->nslots; i++) {
		uint8_t *m = sink->slot_mem(sink->ctx, (int)i);
		uint64_t np = s->slots[i].size / KQ_MIG_PAGE;
		for (uint64_t pg = 0; m && pg < np; pg += KQ_MIG_MAX_RUN) {
			uint32_t n =
			    np - pg < KQ_MIG_MAX_RUN ? (uint32_t)(np - pg) : KQ_MIG_MAX_RUN;
			uint8_t *p = m + pg * KQ_MIG_PAGE;
			bool known =
			    sink->absent && sink->absent(sink->ctx, (int)i, p, n, absent) == 0;
			for (uint32_t k = 0; k < n; k++)
				h[k] = known && (absent[k / 8] & (1u << (k % 8)))
					   ? kq_mig_zero_page_hash()
					   : kq_mig_page_hash(p + (size_t)k * KQ_MIG_PAGE);
			kq_mig_xxh3_update(st, h, n * sizeof(h[0]));
		}
	}
	uint64_t d = kq_mig_xxh3_digest(st);
	kq_mig_xxh3_free(st);
	return d;
}

static const char *phase_name(enum kq_mig_phase p)
{
	static const char *const n[] = {"setup", "memory", "state", "done"};
	return n[p];
}

static int out_of_order(struct kq_mig_recv *rx, const char *frame, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s byte %llu: field type: not allowed in the %s phase", frame,
		 (unsigned long long)rx->off + 6, phase_name(rx->phase));
	return -1;
}

/* Before a run is written: the sink maps its data pages, a stretch at a
 * time; where the run has zero pages, *known tells whether absent holds
 * which pages were never populated (those need no clearing). */
static void prepare(struct kq_mig_recv *rx, int slot, const struct kq_mig_run *run, uint8_t *at,
		    uint8_t *absent, bool *known)
{
	*known = run->raw_len / KQ_MIG_PAGE < run->npages && rx->sink.absent &&
		 rx->sink.absent(rx->sink.ctx, slot, at, run->npages, absent) == 0;
	for (uint32_t i = 0; rx->sink.populate && i < run->npages;) {
		uint32_t j = i; /* a stretch of data pages */
		while (j < run->npages && !(run->zero[j / 8] & (1u << (j % 8))))
			j++;
		if (j > i)
			rx->sink.populate(rx->sink.ctx, slot, at + (size_t)i * KQ_MIG_PAGE, j - i);
		i = j + 1;
	}
}

/* Writes the run (data already in place when run->data is NULL) and counts
 * it; payload_len: the frame's payload bytes. */
static int apply(struct kq_mig_recv *rx, int slot, const struct kq_mig_run *run, uint8_t *at,
		 const uint8_t *absent, bool known, uint32_t payload_len, struct kq_rd *r)
{
	uint64_t pg = (run->gpa - rx->setup.slots[slot].gpa) / KQ_MIG_PAGE;
	if (kq_mig_run_apply(run, at, rx->zstd, known ? absent : NULL, rx->page_hash[slot] + pg,
			     r) < 0)
		return -1;
	uint64_t zero = run->npages - run->raw_len / KQ_MIG_PAGE;
	rx->cur.pages += run->npages;
	rx->cur.zero_pages += zero;
	rx->cur.wire_bytes += KQ_MIG_HDR_SIZE + payload_len;
	rx->pages += run->npages;
	rx->zero_pages += zero;
	return 0;
}

/* The host memory a decoded run goes to, or NULL. */
static uint8_t *run_mem(struct kq_mig_recv *rx, int slot, const struct kq_mig_run *run)
{
	uint8_t *mem = rx->sink.slot_mem(rx->sink.ctx, slot);
	if (!mem || !rx->page_hash[slot])
		return NULL;
	return mem + (run->gpa - rx->setup.slots[slot].gpa);
}

static int on_pages(struct kq_mig_recv *rx, struct kq_rd *r)
{
	struct kq_mig_run run;
	int slot;
	if (kq_mig_run_decode(r, &rx->setup, &run, &slot) < 0)
		return -1;
	if (!(run.flags & KQ_MIG_RUN_ZSTD) && rx->run_nhash == run.raw_len / KQ_MIG_PAGE)
		run.data_hash = rx->run_hash; /* from the checksum check */
	uint8_t *at = run_mem(rx, slot, &run);
	if (!at)
		return kq_rd_fail(r, 0, "gpa", "slot %d has no memory", slot);
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	bool known;
	prepare(rx, slot, &run, at, absent, &known);
	return apply(rx, slot, &run, at, absent, known, (uint32_t)r->len, r);
}

static int on_iter(struct kq_mig_recv *rx, struct kq_rd *r)
{
	struct kq_mig_iter it;
	if (kq_mig_iter_decode(r, &it) < 0)
		return -1;
	if (it.iter != rx->iterations)
		return kq_rd_fail(r, 0, "iter", "%u, expected iteration %u", it.iter,
				  rx->iterations);
	if (it.pages != rx->cur.pages || it.zero_pages != rx->cur.zero_pages)
		return kq_rd_fail(r, 8, "pages",
				  "the source sent %llu pages (%llu zero) in iteration %u, %llu "
				  "(%llu zero) arrived",
				  (unsigned long long)it.pages, (unsigned long long)it.zero_pages,
				  it.iter, (unsigned long long)rx->cur.pages,
				  (unsigned long long)rx->cur.zero_pages);
	rx->iterations++;
	memset(&rx->cur, 0, sizeof(rx->cur));
	if (it.final)
		rx->phase = KQ_MIG_PH_STATE;
	return 0;
}

static int on_complete(struct kq_mig_recv *rx, struct kq_rd *r, char *err, size_t errlen)
{
	if (kq_mig_complete_decode(r, &rx->complete) < 0)
		return -1;
	if (rx->complete.state_records != rx->state_records)
		return kq_rd_fail(r, 16, "state_records", "%u, %u STATE frames arrived",
				  rx->complete.state_records, rx->state_records);
	if (rx->complete.iterations != rx->iterations)
		return kq_rd_fail(r, 20, "iterations", "%u, %u ITER frames arrived",
				  rx->complete.iterations, rx->iterations);
	/* Every page arrived at least once (iteration 0 sends them all), so the
	 * kept hashes describe all of this memory; then combine them. */
	struct kq_mig_xxh3 *st = kq_mig_xxh3_new();
	if (!st)
		return kq_rd_fail(r, 0, "mem_hash", "out of memory");
	kq_mig_xxh3_reset(st);
	for (uint32_t i = 0; i < rx->setup.nslots; i++) {
		uint64_t np = rx->setup.slots[i].size / KQ_MIG_PAGE;
		for (uint64_t pg = 0; pg < np; pg++)
			if (!rx->page_hash[i][pg]) {
				kq_mig_xxh3_free(st);
				return kq_rd_fail(
				    r, 0, "mem_hash", "page 0x%llx (slot %u) never arrived",
				    (unsigned long long)(rx->setup.slots[i].gpa + pg * KQ_MIG_PAGE),
				    i);
			}
		kq_mig_xxh3_update(st, rx->page_hash[i], np * sizeof(uint64_t));
	}
	rx->mem_hash = kq_mig_xxh3_digest(st);
	kq_mig_xxh3_free(st);
	if (rx->mem_hash != rx->complete.mem_hash &&
	    !(rx->allow_unchecked && !rx->complete.mem_hash))
		return kq_rd_fail(r, 0, "mem_hash",
				  "the paused source's memory hashes to %016llx, the destination's "
				  "to %016llx",
				  (unsigned long long)rx->complete.mem_hash,
				  (unsigned long long)rx->mem_hash);
	rx->phase = KQ_MIG_PH_DONE;
	return 1;
}

int kq_mig_recv_frame(struct kq_mig_recv *rx, const uint8_t *hdr, const uint8_t *payload,
		      uint32_t len, char *err, size_t errlen)
{
	struct kq_mig_hdr h;
	char fname[48];
	if (kq_mig_hdr_decode(hdr, rx->off, rx->seq, &h, err, errlen) < 0)
		return -1;
	if (h.len != len) {
		snprintf(err, errlen, "frame %u byte %llu: field length: %u, %u bytes arrived",
			 rx->seq, (unsigned long long)rx->off + 8, h.len, len);
		return -1;
	}
	if (kq_mig_sum_check(&h,
			     kq_mig_frame_sum(h.type, payload, len, rx->run_hash, &rx->run_nhash),
			     rx->off, err, errlen) < 0)
		return -1;
	kq_mig_frame_name(fname, sizeof(fname), &h);
	struct kq_rd r;
	kq_rd_init(&r, payload, len, rx->off + KQ_MIG_HDR_SIZE, fname, err, errlen);
	int rc = 0;
	switch (h.type) {
	case KQ_MF_SETUP:
		if (rx->phase != KQ_MIG_PH_SETUP)
			return out_of_order(rx, fname, err, errlen);
		if (kq_mig_setup_decode(&r, &rx->setup) < 0)
			return -1;
		if (rx->sink.setup(rx->sink.ctx, &rx->setup, err, errlen) < 0)
			return -1;
		for (uint32_t i = 0; i < rx->setup.nslots; i++) {
			rx->page_hash[i] = calloc(rx->setup.slots[i].size / KQ_MIG_PAGE, 8);
			if (!rx->page_hash[i]) {
				snprintf(err, errlen,
					 "out of memory for the page hashes of slot %u", i);
				return -1;
			}
		}
		rx->phase = KQ_MIG_PH_MEMORY;
		break;
	case KQ_MF_PAGES:
		if (rx->phase != KQ_MIG_PH_MEMORY)
			return out_of_order(rx, fname, err, errlen);
		rc = on_pages(rx, &r);
		break;
	case KQ_MF_ITER:
		if (rx->phase != KQ_MIG_PH_MEMORY)
			return out_of_order(rx, fname, err, errlen);
		rc = on_iter(rx, &r);
		break;
	case KQ_MF_STATE: {
		struct kq_mig_state st;
		if (rx->phase != KQ_MIG_PH_STATE)
			return out_of_order(rx, fname, err, errlen);
		if (kq_mig_state_decode(&r, rx->setup.vcpus, &st) < 0)
			return -1;
		if (rx->sink.state(rx->sink.ctx, &st, err, errlen) < 0)
			return -1;
		rx->state_records++;
		break;
	}
	case KQ_MF_COMPLETE:
		if (rx->phase != KQ_MIG_PH_STATE)
			return out_of_order(rx, fname, err, errlen);
		rc = on_complete(rx, &r, err, errlen);
		break;
	case KQ_MF_ABORT: {
		char msg[KQ_MIG_MSG_MAX];
		if (kq_mig_abort_decode(&r, msg, sizeof(msg)) < 0)
			return -1;
		snprintf(err, errlen, "%s: the source aborted the migration: %s", fname, msg);
		return -1;
	}
	default: /* ACK travels the other way */
		return out_of_order(rx, fname, err, errlen);
	}
	if (rc < 0)
		return -1;
	rx->seq++;
	rx->off += KQ_MIG_HDR_SIZE + (uint64_t)len;
	rx->bytes += KQ_MIG_HDR_SIZE + (uint64_t)len;
	return rc;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Pages read at once into slot memory: small enough that they are still in
 * cache when they are hashed after. */
#define IN_PLACE_READ 32

/* An uncompressed PAGES run read into slot memory: its head into head[],
 * then each stretch of data pages where it belongs. 1: done; 0: the head
 * does not allow it (compressed, malformed: *have bytes of the payload are
 * in head[], the caller reads the rest and checks it as a whole, with the
 * usual errors); -1: error. */
static int pages_in_place(struct kq_mig_recv *rx, const struct kq_mig_hdr *h,
			  const struct kq_mig_src *src, uint8_t *head, size_t *have, char *err,
			  size_t errlen)
{
	*have = 0;
	if (h->len < KQ_MIG_RUN_HEAD)
		return 0;
	if (src->read(src->ctx, head, KQ_MIG_RUN_HEAD, err, errlen) < 0)
		return -1;
	*have = KQ_MIG_RUN_HEAD;
	uint32_t np = le32(head + 8), bm = (np + 7) / 8;
	if (np == 0 || np > KQ_MIG_MAX_RUN || h->len < KQ_MIG_RUN_HEAD + bm)
		return 0;
	if (src->read(src->ctx, head + *have, bm, err, errlen) < 0)
		return -1;
	*have += bm;
	char fname[48];
	kq_mig_frame_name(fname, sizeof(fname), h);
	struct kq_rd r;
	kq_rd_init(&r, head, *have, rx->off + KQ_MIG_HDR_SIZE, fname, err, errlen);
	struct kq_mig_run run;
	int slot;
	if (kq_mig_run_decode_head(&r, &rx->setup, &run, &slot) < 0 ||
	    (run.flags & KQ_MIG_RUN_ZSTD) || h->len != *have + run.data_len)
		return 0;
	uint8_t *at = run_mem(rx, slot, &run);
	if (!at)
		return 0;
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	bool known;
	prepare(rx, slot, &run, at, absent, &known);
	uint64_t *hashes =
	    rx->page_hash[slot] + (run.gpa - rx->setup.slots[slot].gpa) / KQ_MIG_PAGE;
	uint32_t nd = 0;
	for (uint32_t i = 0; i < run.npages;) { /* stretches of data pages */
		uint32_t j = i;
		while (j < run.npages && !(run.zero[j / 8] & (1u << (j % 8))) &&
		       j - i < IN_PLACE_READ)
			j++;
		if (j > i) { /* read, then hash each page while in cache */
			uint8_t *p = at + (size_t)i * KQ_MIG_PAGE;
			if (src->read(src->ctx, p, (size_t)(j - i) * KQ_MIG_PAGE, err, errlen) < 0)
				return -1;
			for (uint32_t k = i; k < j; k++, p += KQ_MIG_PAGE)
				hashes[k] = rx->run_hash[nd++] = kq_mig_page_hash(p);
		}
		i = j < run.npages && (run.zero[j / 8] & (1u << (j % 8))) ? j + 1 : j;
	}
	if (kq_mig_sum_check(h, kq_mig_pages_sum_hashes(head, *have, rx->run_hash, nd), rx->off,
			     err, errlen) < 0 ||
	    apply(rx, slot, &run, at, absent, known, h->len, &r) < 0)
		return -1;
	rx->seq++;
	rx->off += KQ_MIG_HDR_SIZE + (uint64_t)h->len;
	rx->bytes += KQ_MIG_HDR_SIZE + (uint64_t)h->len;
	return 1;
}

int kq_mig_recv_read(struct kq_mig_recv *rx, const uint8_t *hdr, const struct kq_mig_src *src,
		     struct kq_bytes *buf, char *err, size_t errlen)
{
	struct kq_mig_hdr h;
	if (kq_mig_hdr_decode(hdr, rx->off, rx->seq, &h, err, errlen) < 0)
		return -1;
	kq_bytes_reset(buf);
	uint8_t *p = NULL;
	size_t have = 0;
	if (h.type == KQ_MF_PAGES && rx->phase == KQ_MIG_PH_MEMORY &&
	    (p = kq_bytes_reserve(buf, KQ_MIG_RUN_HEAD + KQ_MIG_MAX_RUN / 8))) {
		int r = pages_in_place(rx, &h, src, p, &have, err, errlen);
		if (r != 0)
			return r < 0 ? -1 : 0;
		buf->len = have; /* the head read so far stays in front */
	}
	if (!(p = kq_bytes_reserve(buf, h.len - have + 1))) {
		snprintf(err, errlen, "out of memory for a %u-byte payload", h.len);
		return -1;
	}
	if (src->read(src->ctx, p, h.len - have, err, errlen) < 0)
		return -1;
	buf->len = h.len;
	return kq_mig_recv_frame(rx, hdr, buf->p, h.len, err, errlen);
}

static int mem_read(void *ctx, void *dst, size_t n, char *err, size_t errlen)
{
	const uint8_t **at = ctx; /* the caller checked the frame lies in the buffer */
	memcpy(dst, *at, n);
	*at += n;
	return 0;
}

int kq_mig_recv_buffer(struct kq_mig_recv *rx, const uint8_t *buf, size_t len, size_t *used,
		       char *err, size_t errlen)
{
	size_t pos = 0;
	int rc = 0;
	struct kq_bytes payload = {0};
	while (rc == 0) {
		if (len - pos < KQ_MIG_HDR_SIZE) {
			snprintf(err, errlen,
				 "frame %u (header) byte %llu: the stream ends after %zu of %d "
				 "header bytes",
				 rx->seq, (unsigned long long)rx->off, len - pos, KQ_MIG_HDR_SIZE);
			rc = -1;
			break;
		}
		struct kq_mig_hdr h;
		if (kq_mig_hdr_decode(buf + pos, rx->off, rx->seq, &h, err, errlen) < 0) {
			rc = -1;
			break;
		}
		if (h.len > len - pos - KQ_MIG_HDR_SIZE) {
			snprintf(err, errlen,
				 "frame %u (%s) byte %llu: the stream ends after %zu of %u payload "
				 "bytes",
				 h.seq, kq_mig_type_name(h.type),
				 (unsigned long long)rx->off + KQ_MIG_HDR_SIZE,
				 len - pos - KQ_MIG_HDR_SIZE, h.len);
			rc = -1;
			break;
		}
		const uint8_t *at = buf + pos + KQ_MIG_HDR_SIZE;
		struct kq_mig_src src = {mem_read, &at};
		rc = kq_mig_recv_read(rx, buf + pos, &src, &payload, err, errlen);
		if (rc >= 0)
			pos += KQ_MIG_HDR_SIZE + h.len;
	}
	kq_bytes_free(&payload);
	*used = pos;
	return rc;
}
