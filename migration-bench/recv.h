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
	/* Optional: bits of the npages pages at mem (inside slot) known to be
	 * zero without reading them (kq_mig_absent); -1 when it cannot tell. */
	int (*absent)(void *ctx, int slot, const uint8_t *mem, uint32_t npages, uint8_t *bits);
	/* Optional: the npages data pages at mem (inside slot) are about to be
	 * written: map those not mapped yet in one call rather than a fault each. */
	void (*populate)(void *ctx, int slot, uint8_t *mem, uint32_t npages);
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
	struct kq_mig_iter_stat cur; /* since the last ITER */
	uint32_t iterations;
	uint32_t state_records;
	uint64_t pages, zero_pages, bytes;
	struct kq_mig_complete complete;
	/* Each page's hash as it was last written here (0: never arrived), so
	 * the memory check at COMPLETE reads no memory (see kq_mig_mem_hash). */
	uint64_t *page_hash[KQ_MIG_MAX_SLOTS];
	/* The data pages' hashes of the PAGES frame being read, computed for
	 * its checksum and kept (kq_mig_pages_sum). */
	uint64_t run_hash[KQ_MIG_MAX_RUN];
	uint32_t run_nhash;
	uint64_t mem_hash;    /* computed here when COMPLETE arrived */
	bool allow_unchecked; /* tests only: a COMPLETE hash of 0 skips the check */
};

int kq_mig_recv_init(struct kq_mig_recv *rx, const struct kq_mig_sink *sink);
void kq_mig_recv_free(struct kq_mig_recv *rx);
/* One frame: its 24-byte header and payload of h.len bytes. Returns 0 to go
 * on, 1 when COMPLETE arrived and memory matched, -1 with err naming the
 * frame, field and byte offset. */
int kq_mig_recv_frame(struct kq_mig_recv *rx, const uint8_t *hdr, const uint8_t *payload,
		      uint32_t len, char *err, size_t errlen);
/* Where a frame's payload comes from, piece by piece: read() fills dst with
 * the next n bytes of the stream; 0, or -1 with err set. */
struct kq_mig_src {
	int (*read)(void *ctx, void *dst, size_t n, char *err, size_t errlen);
	void *ctx;
};
/* One frame whose header was read (hdr, not yet checked), its payload read
 * from src. The data of an uncompressed PAGES run is read straight into slot
 * memory (no copy through buf), its checksum computed there after it landed:
 * a mismatch fails the stream as any other, and memory the destination will
 * not run holds the bad bytes. Everything else is read into buf (resized)
 * and goes to kq_mig_recv_frame. Returns as kq_mig_recv_frame. */
int kq_mig_recv_read(struct kq_mig_recv *rx, const uint8_t *hdr, const struct kq_mig_src *src,
		     struct kq_bytes *buf, char *err, size_t errlen);
/* Convenience for buffers (tests, fuzzing): feeds frames from buf through
 * kq_mig_recv_read until it ends, an error, or COMPLETE; *used gets the
 * bytes consumed. */
int kq_mig_recv_buffer(struct kq_mig_recv *rx, const uint8_t *buf, size_t len, size_t *used,
		       char *err, size_t errlen);

/* The memory hash: XXH3-64 over the sequence of every page's
 * kq_mig_page_hash(), slots in order. Reads the memory the sink gives (pages
 * the sink's absent() knows to be zero are not read). The destination gets
 * the same value from the hashes it kept as pages arrived. */
uint64_t kq_mig_mem_hash(const struct kq_mig_setup *s, const struct kq_mig_sink *sink);

#endif
