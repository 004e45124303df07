/* The destination's reading of the stream, apart from KVM: phase order,
 * frame checks, pages written into slot memory, iteration counts checked
 * against what arrived, state records handed on, the memory hash compared.
 * The fuzz target drives it with a memory-only sink. */
#ifndef KQ_MIG_RECV_H
#define KQ_MIG_RECV_H

#include "migration-bench/proto.h"

struct kq_mig_sink {
	/* SETUP arrived: build (or refuse) the VM. 0, or -1 with err set. */
	int (*setup)(void *ctx, const struct kq_mig_setup *s, char *err, size_t n);
	/* Host memory of slot i of the accepted setup (its full size). */
	uint8_t *(*slot_mem)(void *ctx, int slot);
	/* A STATE record (bytes valid during the call). 0, or -1 with err set. */
	int (*state)(void *ctx, const struct kq_mig_state *st, char *err, size_t n);
	void *ctx;
};

enum kq_mig_phase {
	KQ_MIG_PH_SETUP,  /* waiting for SETUP */
	KQ_MIG_PH_MEMORY, /* PAGES and ITER */
	KQ_MIG_PH_STATE,  /* after the final ITER: STATE records */
	KQ_MIG_PH_DONE	  /* COMPLETE arrived and the memory hash matched */
};

struct kq_mig_iter_stat {
	uint64_t pages, zero_pages, wire_bytes;
};

struct kq_mig_recv {
	struct kq_mig_sink sink;
	enum kq_mig_phase phase;
	uint32_t seq; /* next frame expected */
	uint64_t off; /* stream offset of the next frame */
	struct kq_mig_setup setup;
	struct kq_mig_zstd *zstd;
	uint8_t *scratch;
	struct kq_mig_iter_stat cur; /* since the last ITER */
	uint32_t iterations;
	uint32_t state_records;
	uint64_t pages, zero_pages, bytes;
	struct kq_mig_complete complete;
	uint64_t mem_hash; /* computed here when COMPLETE arrived */
};

int kq_mig_recv_init(struct kq_mig_recv *rx, const struct kq_mig_sink *sink);
void kq_mig_recv_free(struct kq_mig_recv *rx);
/* One frame: its 24-byte header and payload of h.len bytes. Returns 0 to go
 * on, 1 when COMPLETE arrived and memory matched, -1 with err naming the
 * frame, field and byte offset. */
int kq_mig_recv_frame(struct kq_mig_recv *rx, const uint8_t *hdr, const uint8_t *payload,
		      uint32_t len, char *err, size_t errlen);
/* Convenience for buffers (tests, fuzzing): feeds frames from buf until it
 * ends, an error, or COMPLETE; *used gets the bytes consumed. */
int kq_mig_recv_buffer(struct kq_mig_recv *rx, const uint8_t *buf, size_t len, size_t *used,
		       char *err, size_t errlen);

/* XXH3-64 over every slot's memory in slot order. */
uint64_t kq_mig_mem_hash(const struct kq_mig_setup *s, uint8_t *(*slot_mem)(void *, int),
			 void *ctx);

#endif
