/* The live-migration stream: a versioned sequence of frames, each with a
 * type, a length, a sequence number and an xxhash (XXH3-64) checksum, in
 * phases (the header has its own checksum, so a corrupted length is caught
 * before it is trusted): SETUP (the VM configuration), PAGES runs grouped by ITER markers,
 * STATE records (the state module's encoded bytes), COMPLETE (memory hash and
 * the source's clock at the pause), then ACK frames back from the destination.
 * Everything little-endian. Decoders check every length, count and index
 * against the payload and the agreed layout; errors name the frame, the field
 * and the byte offset in the stream. docs/migration.md describes the format. */
#ifndef KQ_MIG_PROTO_H
#define KQ_MIG_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "migration-bench/wire.h"

#define KQ_MIG_MAGIC	    0x464d514bu /* "KQMF" */
#define KQ_MIG_SEALED_MAGIC 0x534d514bu /* "KQMS": a keyed stream's preamble */
#define KQ_MIG_VERSION                                                                             \
	3 /* 2: the memory hash combines per-page hashes; 3: so does                               \
	   * an uncompressed PAGES run's checksum */
#define KQ_MIG_HDR_SIZE	   32
#define KQ_MIG_MAX_PAYLOAD (4u << 20)
#define KQ_MIG_PAGE	   4096u
#define KQ_MIG_MAX_RUN	   256 /* pages per PAGES frame: 1 MiB of data */
#define KQ_MIG_MAX_SLOTS   32
#define KQ_MIG_MAX_CPUID   256
#define KQ_MIG_MAX_MSRS	   512
#define KQ_MIG_MAX_VCPUS   64
#define KQ_MIG_MSG_MAX	   512

enum kq_mig_type {
	KQ_MF_SETUP = 1, /* source → destination: struct kq_mig_setup */
	KQ_MF_PAGES,	 /* a run of pages: struct kq_mig_run */
	KQ_MF_ITER,	 /* end of one memory iteration: struct kq_mig_iter */
	KQ_MF_STATE,	 /* one state record: struct kq_mig_state */
	KQ_MF_COMPLETE,	 /* all sent: struct kq_mig_complete */
	KQ_MF_ACK,	 /* destination → source: struct kq_mig_ack */
	KQ_MF_ABORT,	 /* either way: a reason; the migration is off */
	KQ_MF_MAX
};
const char *kq_mig_type_name(uint32_t type);

struct kq_mig_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;
	uint32_t len;	  /* payload bytes after the header */
	uint32_t seq;	  /* 0, 1, 2... per direction: a lost or repeated frame shows */
	uint64_t sum;	  /* XXH3-64 of the payload (PAGES: see kq_mig_pages_sum) */
	uint32_t hdr_sum; /* XXH32 of header bytes 0..23; bytes 28..31 are zero */
};

/* Appends one frame (header + payload) to out. */
void kq_mig_frame_put(struct kq_bytes *out, uint16_t type, uint32_t seq, const void *payload,
		      uint32_t len);
/* A frame built in place: begin leaves room for the header and returns its
 * offset; the payload is appended to out; end writes the header over it
 * (length, checksum). Saves copying a large payload twice. */
size_t kq_mig_frame_begin(struct kq_bytes *out);
void kq_mig_frame_end(struct kq_bytes *out, size_t at, uint16_t type, uint32_t seq);
/* The same with the payload's checksum already computed (as it was built). */
void kq_mig_frame_end_sum(struct kq_bytes *out, size_t at, uint16_t type, uint32_t seq,
			  uint64_t sum);
/* Checks a header read at stream offset `off`: magic, version (a mismatch
 * names both versions), header checksum, known type, length limit, expected
 * sequence. */
int kq_mig_hdr_decode(const uint8_t in[KQ_MIG_HDR_SIZE], uint64_t off, uint32_t want_seq,
		      struct kq_mig_hdr *h, char *err, size_t errlen);
/* The checksum a frame of this type carries for this payload: XXH3-64 of
 * the payload, for PAGES kq_mig_pages_sum (hashes, nhashes as there). */
uint64_t kq_mig_frame_sum(uint16_t type, const uint8_t *payload, uint32_t len, uint64_t *hashes,
			  uint32_t *nhashes);
/* Verifies the checksum of a payload whose header was decoded. */
int kq_mig_payload_verify(const uint8_t hdr[KQ_MIG_HDR_SIZE], const struct kq_mig_hdr *h,
			  const uint8_t *payload, uint64_t off, char *err, size_t errlen);
/* Compares sum, the XXH3-64 of a payload computed piecewise, with the
 * header's; a mismatch is an error naming the frame and its offset. */
int kq_mig_sum_check(const struct kq_mig_hdr *h, uint64_t sum, uint64_t off, char *err,
		     size_t errlen);
/* "frame 3 (PAGES)" */
void kq_mig_frame_name(char *dst, size_t n, const struct kq_mig_hdr *h);

/* --- SETUP: what the destination must build, and what it must offer ---- */
struct kq_mig_slot {
	uint64_t gpa, size;
	uint32_t backing; /* enum kq_backing */
	uint32_t flags;
	char name[32];
};
struct kq_mig_cpuid {
	uint32_t function, index, flags, eax, ebx, ecx, edx;
};
struct kq_mig_setup {
	uint32_t version; /* KQ_MIG_VERSION, repeated for the record's own sake */
	uint32_t vcpus;
	uint32_t irqchip;   /* enum kq_irqchip */
	uint32_t page_size; /* enum kq_pagesz of the test region */
	uint64_t tsc_khz;
	uint64_t test_mem; /* bytes at KQ_TEST_GPA */
	uint32_t backing;  /* enum kq_backing of the test memory */
	char workload[40];
	uint64_t args[16];
	uint32_t nslots;
	struct kq_mig_slot slots[KQ_MIG_MAX_SLOTS]; /* ascending, non-overlapping */
	uint32_t ncpuid;
	struct kq_mig_cpuid cpuid[KQ_MIG_MAX_CPUID]; /* what the source guest was given */
	uint32_t nmsrs;
	uint32_t msrs[KQ_MIG_MAX_MSRS]; /* MSR indices the state record carries */
};
void kq_mig_setup_put(struct kq_bytes *out, const struct kq_mig_setup *s);
int kq_mig_setup_decode(struct kq_rd *r, struct kq_mig_setup *s);
/* Compares what the source sent with what the destination built: 0 when
 * they agree, else -1 with the first difference named in err
 * ("vCPU count: source 2, destination 1"). CPUID and MSRs are not compared
 * here: see kq_mig_check_offer(). */
int kq_mig_setup_compare(const struct kq_mig_setup *src, const struct kq_mig_setup *dst, char *err,
			 size_t errlen);
/* Can this host offer the source guest's CPUID and MSRs? `sup` holds this
 * host's KVM_GET_SUPPORTED_CPUID and MSR index list in the same shape. */
int kq_mig_check_offer(const struct kq_mig_setup *src, const struct kq_mig_setup *sup, char *err,
		       size_t errlen);

/* --- PAGES: a run of consecutive guest pages --------------------------- */
#define KQ_MIG_RUN_ZSTD 1u /* data is one zstd frame of raw_len bytes */
struct kq_mig_run {
	uint64_t gpa;
	uint32_t npages; /* 1..KQ_MIG_MAX_RUN */
	uint32_t flags;
	uint32_t raw_len;		  /* 4096 × pages not flagged zero */
	uint32_t data_len;		  /* bytes of data on the wire */
	uint8_t zero[KQ_MIG_MAX_RUN / 8]; /* bit i: page i is all zeroes, no data */
	const uint8_t *data;		  /* into the payload */
	/* The data pages' hashes where the checksum check computed them (see
	 * kq_mig_pages_sum), else NULL: kq_mig_run_apply hashes them. */
	const uint64_t *data_hash;
};
struct kq_mig_zstd; /* compression contexts, see kq_mig_zstd_new() */
struct kq_mig_zstd *kq_mig_zstd_new(int level);
void kq_mig_zstd_free(struct kq_mig_zstd *z);
/* Statistics of what was put. */
struct kq_mig_run_stats {
	uint64_t pages, zero_pages, raw_bytes, wire_bytes;
};
/* Encodes npages pages from host memory `mem` at gpa as a PAGES payload;
 * compresses the data with z when z is non-NULL (kept raw when zstd does not
 * make it smaller). `absent` (or NULL): bit i set when page i is known to be
 * zero without reading it (never populated; see pagemap.h). sum (or NULL)
 * gets the payload's kq_mig_pages_sum, each page hashed right after it was
 * copied (still in cache). Returns 0, or -1 when out of memory or zstd
 * failed. */
int kq_mig_run_put(struct kq_bytes *out, uint64_t gpa, const uint8_t *mem, uint32_t npages,
		   struct kq_mig_zstd *z, const uint8_t *absent, struct kq_mig_run_stats *st,
		   uint64_t *sum);
/* The checksum of a PAGES payload (protocol version 3). An uncompressed
 * run (flags 0, npages 1..256, exactly 4096 bytes for each clear bitmap
 * bit after its head and bitmap): XXH3-64 over the head and bitmap followed
 * by each data page's kq_mig_page_hash as u64 little-endian, the hashes the
 * destination keeps anyway, so each page is hashed once on either side.
 * Anything else (compressed, malformed): XXH3-64 of the payload. hashes
 * (NULL, or room for KQ_MIG_MAX_RUN) gets the data pages' hashes, *nhashes
 * their count (0 for the plain XXH3). Any bytes are safe to pass. */
uint64_t kq_mig_pages_sum(const uint8_t *payload, uint32_t len, uint64_t *hashes,
			  uint32_t *nhashes);
/* The same from an uncompressed run's head and bitmap (head_len bytes) and
 * its n data pages' hashes. */
uint64_t kq_mig_pages_sum_hashes(const uint8_t *head, size_t head_len, const uint64_t *hashes,
				 uint32_t n);
/* Decodes and checks a PAGES payload: alignment, count, flags, the zero
 * bitmap against raw_len, and that the run lies inside one of the layout's
 * slots (returned in *slot). */
int kq_mig_run_decode(struct kq_rd *r, const struct kq_mig_setup *layout, struct kq_mig_run *run,
		      int *slot);
/* The same checks on the run's head alone (gpa to the zero bitmap), before
 * its data is read: run->data stays NULL. */
int kq_mig_run_decode_head(struct kq_rd *r, const struct kq_mig_setup *layout,
			   struct kq_mig_run *run, int *slot);
#define KQ_MIG_RUN_HEAD 24 /* bytes before the zero bitmap */
/* Writes the run into dst (the slot's host memory at run->gpa): data pages
 * copied (run->data NULL: already in place, their hashes set by the caller),
 * zero pages cleared unless `absent` (or NULL) says they were never
 * populated; decompresses with z (into its own buffer). hashes (or NULL)
 * gets each page's kq_mig_page_hash(). A zstd frame that does not expand to
 * exactly raw_len bytes is an error naming the frame. */
int kq_mig_run_apply(const struct kq_mig_run *run, uint8_t *dst, struct kq_mig_zstd *z,
		     const uint8_t *absent, uint64_t *hashes, struct kq_rd *r);
/* A page's hash as the memory check combines them: XXH3-64 of its 4096
 * bytes, never 0 (0 marks a page that never arrived). */
uint64_t kq_mig_page_hash(const uint8_t *p);
uint64_t kq_mig_zero_page_hash(void);
bool kq_mig_page_is_zero(const uint8_t *p);

/* --- ITER: the source's count of one iteration; the destination checks it */
struct kq_mig_iter {
	uint32_t iter;
	uint32_t final; /* 1 for the pass made while the source is paused */
	uint64_t pages, zero_pages, wire_bytes;
};
void kq_mig_iter_put(struct kq_bytes *out, const struct kq_mig_iter *it);
int kq_mig_iter_decode(struct kq_rd *r, struct kq_mig_iter *it);

/* --- STATE: the state module's encoded bytes, one record per frame ------- */
enum { KQ_MIG_STATE_VM = 1, KQ_MIG_STATE_VCPU = 2 };
struct kq_mig_state {
	uint32_t kind;
	uint32_t index; /* vCPU index (< vcpus), 0 for the VM */
	uint32_t len;
	const uint8_t *data;
};
void kq_mig_state_put(struct kq_bytes *out, uint32_t kind, uint32_t index, const void *data,
		      uint32_t len);
int kq_mig_state_decode(struct kq_rd *r, uint32_t vcpus, struct kq_mig_state *s);

/* --- COMPLETE ------------------------------------------------------------ */
struct kq_mig_complete {
	uint64_t mem_hash;	    /* the paused source's memory, kq_mig_mem_hash() */
	uint64_t pause_realtime_ns; /* CLOCK_REALTIME when the source paused */
	uint32_t state_records;	    /* STATE frames that preceded */
	uint32_t iterations;
};
void kq_mig_complete_put(struct kq_bytes *out, const struct kq_mig_complete *c);
int kq_mig_complete_decode(struct kq_rd *r, struct kq_mig_complete *c);

/* --- ACK and ABORT ------------------------------------------------------- */
/* SETUP: the configuration was accepted; RUNNING: the destination's guest
 * runs (the source may let its VM go); FINISHED: the destination's guest
 * stopped and reported (values: enum kq_mig_ack_value). */
enum { KQ_MIG_ACK_SETUP = 1, KQ_MIG_ACK_RUNNING = 2, KQ_MIG_ACK_FINISHED = 3 };
#define KQ_MIG_ACK_VALUES 8
enum kq_mig_ack_value {
	KQ_ACKV_RUNNING_REALTIME_NS,  /* RUNNING: CLOCK_REALTIME when its vCPUs started */
	KQ_ACKV_STATE_LOAD_NS,	      /* RUNNING: decode + restore of the state */
	KQ_ACKV_RESUME_NS,	      /* RUNNING: starting the vCPU threads */
	KQ_ACKV_HASH_WAIT_NS,	      /* RUNNING: state loaded, waiting for COMPLETE */
	KQ_ACKV_HEARTBEAT_GAP_NS = 0, /* FINISHED: the guest's largest heartbeat gap */
	KQ_ACKV_VERIFIER_ERRORS,      /* FINISHED */
	KQ_ACKV_VERIFIER_WRITES,      /* FINISHED */
	KQ_ACKV_WORKLOAD_OK,	      /* FINISHED: 1 when every vCPU reached DONE */
};
struct kq_mig_ack {
	uint32_t phase;
	int32_t status; /* 0: accepted; otherwise msg says why not */
	uint64_t value; /* RUNNING: the destination's memory hash */
	uint64_t v[KQ_MIG_ACK_VALUES];
	char msg[KQ_MIG_MSG_MAX];
};
void kq_mig_ack_put(struct kq_bytes *out, const struct kq_mig_ack *a);
int kq_mig_ack_decode(struct kq_rd *r, struct kq_mig_ack *a);
void kq_mig_abort_put(struct kq_bytes *out, const char *msg);
int kq_mig_abort_decode(struct kq_rd *r, char *msg, size_t n);

#endif
