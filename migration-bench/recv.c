/* The destination's stream reader, apart from KVM (see recv.h). */
#include "migration-bench/recv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

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
	XXH3_state_t *st = XXH3_createState();
	uint64_t h[KQ_MIG_MAX_RUN];
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	if (!st)
		return 0;
	XXH3_64bits_reset(st);
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
			XXH3_64bits_update(st, h, n * sizeof(h[0]));
		}
	}
	uint64_t d = XXH3_64bits_digest(st);
	XXH3_freeState(st);
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

static int on_pages(struct kq_mig_recv *rx, struct kq_rd *r)
{
	struct kq_mig_run run;
	int slot;
	if (kq_mig_run_decode(r, &rx->setup, &run, &slot) < 0)
		return -1;
	uint8_t *mem = rx->sink.slot_mem(rx->sink.ctx, slot);
	if (!mem || !rx->page_hash[slot])
		return kq_rd_fail(r, 0, "gpa", "slot %d has no memory", slot);
	uint64_t pg = (run.gpa - rx->setup.slots[slot].gpa) / KQ_MIG_PAGE;
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	bool known = rx->sink.absent && rx->sink.absent(rx->sink.ctx, slot, mem + pg * KQ_MIG_PAGE,
							run.npages, absent) == 0;
	for (uint32_t i = 0; known && rx->sink.populate && i < run.npages;) {
		uint32_t j = i; /* a stretch of data pages never populated */
		while (j < run.npages && !(run.zero[j / 8] & (1u << (j % 8))) &&
		       (absent[j / 8] & (1u << (j % 8))))
			j++;
		if (j > i)
			rx->sink.populate(rx->sink.ctx, mem + (pg + i) * KQ_MIG_PAGE, j - i);
		i = j + 1;
	}
	if (kq_mig_run_apply(&run, mem + pg * KQ_MIG_PAGE, rx->zstd, known ? absent : NULL,
			     rx->page_hash[slot] + pg, r) < 0)
		return -1;
	uint64_t zero = run.npages - run.raw_len / KQ_MIG_PAGE;
	rx->cur.pages += run.npages;
	rx->cur.zero_pages += zero;
	rx->cur.wire_bytes += KQ_MIG_HDR_SIZE + r->len;
	rx->pages += run.npages;
	rx->zero_pages += zero;
	return 0;
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
	XXH3_state_t *st = XXH3_createState();
	if (!st)
		return kq_rd_fail(r, 0, "mem_hash", "out of memory");
	XXH3_64bits_reset(st);
	for (uint32_t i = 0; i < rx->setup.nslots; i++) {
		uint64_t np = rx->setup.slots[i].size / KQ_MIG_PAGE;
		for (uint64_t pg = 0; pg < np; pg++)
			if (!rx->page_hash[i][pg]) {
				XXH3_freeState(st);
				return kq_rd_fail(
				    r, 0, "mem_hash", "page 0x%llx (slot %u) never arrived",
				    (unsigned long long)(rx->setup.slots[i].gpa + pg * KQ_MIG_PAGE),
				    i);
			}
		XXH3_64bits_update(st, rx->page_hash[i], np * sizeof(uint64_t));
	}
	rx->mem_hash = XXH3_64bits_digest(st);
	XXH3_freeState(st);
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
	if (kq_mig_payload_verify(hdr, &h, payload, rx->off, err, errlen) < 0)
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

int kq_mig_recv_buffer(struct kq_mig_recv *rx, const uint8_t *buf, size_t len, size_t *used,
		       char *err, size_t errlen)
{
	size_t pos = 0;
	int rc = 0;
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
		rc = kq_mig_recv_frame(rx, buf + pos, buf + pos + KQ_MIG_HDR_SIZE, h.len, err,
				       errlen);
		if (rc >= 0)
			pos += KQ_MIG_HDR_SIZE + h.len;
	}
	*used = pos;
	return rc;
}
