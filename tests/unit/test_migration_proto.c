/* The migration stream: frames, records, page runs and the destination's
 * reader, against a memory-only sink (no KVM). */
#include "migration-bench/proto.h"
#include "migration-bench/recv.h"
#include "tests/tap.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MEM_PAGES 64

struct mem_sink {
	struct kq_mig_setup want;
	uint8_t *mem[2];
	int states;
	int refuse_state;
};

static int sink_setup(void *ctx, const struct kq_mig_setup *s, char *err, size_t n)
{
	struct mem_sink *m = ctx;
	return kq_mig_setup_compare(s, &m->want, err, n);
}
static uint8_t *sink_mem(void *ctx, int slot)
{
	return ((struct mem_sink *)ctx)->mem[slot];
}
static int sink_state(void *ctx, const struct kq_mig_state *st, char *err, size_t n)
{
	struct mem_sink *m = ctx;
	if (m->refuse_state) {
		snprintf(err, n, "state record refused");
		return -1;
	}
	m->states++;
	return 0;
}

static void layout(struct kq_mig_setup *s)
{
	memset(s, 0, sizeof(*s));
	s->version = KQ_MIG_VERSION;
	s->vcpus = 2;
	s->tsc_khz = 2000000;
	s->test_mem = 32 * KQ_MIG_PAGE;
	strcpy(s->workload, "migration.verifier");
	s->nslots = 2;
	s->slots[0] = (struct kq_mig_slot){.gpa = 0, .size = 32 * KQ_MIG_PAGE, .name = "system"};
	s->slots[1] =
	    (struct kq_mig_slot){.gpa = 0x100000000ULL, .size = 32 * KQ_MIG_PAGE, .name = "test"};
	s->ncpuid = 2;
	s->cpuid[0] = (struct kq_mig_cpuid){.function = 1, .ecx = 0x80202001, .edx = 0x178bfbff};
	s->cpuid[1] = (struct kq_mig_cpuid){.function = 7, .ebx = 0x219c07ab};
	s->nmsrs = 2;
	s->msrs[0] = 0x10;
	s->msrs[1] = 0xc0000080;
}

static void fill(uint8_t *m, unsigned seed)
{
	memset(m, 0, 32 * KQ_MIG_PAGE);
	for (int p = 0; p < 32; p += 3) /* every third page holds data */
		for (int i = 0; i < (int)KQ_MIG_PAGE; i += 64)
			m[p * KQ_MIG_PAGE + i] = (uint8_t)(seed + p + i / 64);
}

/* A whole stream: SETUP, two iterations, two STATE records, COMPLETE. */
static void build_stream(struct kq_bytes *out, const struct kq_mig_setup *s, uint8_t **src,
			 struct kq_mig_zstd *z, uint32_t version_override, int change_after_send)
{
	struct kq_bytes p = {0};
	uint32_t seq = 0;
	kq_mig_setup_put(&p, s);
	kq_mig_frame_put(out, KQ_MF_SETUP, seq++, p.p, (uint32_t)p.len);
	for (uint32_t it = 0; it < 2; it++) {
		struct kq_mig_run_stats st = {0};
		for (int sl = 0; sl < 2; sl++)
			for (uint32_t pg = 0; pg < 32; pg += 16) {
				kq_bytes_reset(&p);
				kq_mig_run_put(&p, s->slots[sl].gpa + pg * KQ_MIG_PAGE,
					       src[sl] + pg * KQ_MIG_PAGE, 16, z, NULL, &st, NULL);
				kq_mig_frame_put(out, KQ_MF_PAGES, seq++, p.p, (uint32_t)p.len);
			}
		kq_bytes_reset(&p);
		struct kq_mig_iter mi = {
		    .iter = it, .final = it == 1, .pages = st.pages, .zero_pages = st.zero_pages};
		kq_mig_iter_put(&p, &mi);
		kq_mig_frame_put(out, KQ_MF_ITER, seq++, p.p, (uint32_t)p.len);
	}
	for (uint32_t v = 0; v < 2; v++) {
		kq_bytes_reset(&p);
		kq_mig_state_put(&p, KQ_MIG_STATE_VCPU, v, "regs", 4);
		kq_mig_frame_put(out, KQ_MF_STATE, seq++, p.p, (uint32_t)p.len);
	}
	kq_bytes_reset(&p);
	if (change_after_send)
		src[1][5 * KQ_MIG_PAGE] ^= 1; /* a write the pages never carried */
	struct mem_sink tmp = {.mem = {src[0], src[1]}};
	struct kq_mig_sink hs = {.slot_mem = sink_mem, .ctx = &tmp};
	struct kq_mig_complete c = {
	    .mem_hash = kq_mig_mem_hash(s, &hs), .state_records = 2, .iterations = 2};
	kq_mig_complete_put(&p, &c);
	kq_mig_frame_put(out, KQ_MF_COMPLETE, seq++, p.p, (uint32_t)p.len);
	if (version_override)
		out->p[4] = (uint8_t)version_override;
	kq_bytes_free(&p);
}

static int receive(const struct kq_bytes *stream, struct mem_sink *ms, char *err, size_t n,
		   size_t *used)
{
	struct kq_mig_recv rx;
	struct kq_mig_sink sink = {sink_setup, sink_mem, sink_state, ms, NULL, NULL};
	kq_mig_recv_init(&rx, &sink);
	int rc = kq_mig_recv_buffer(&rx, stream->p, stream->len, used, err, n);
	kq_mig_recv_free(&rx);
	return rc;
}

static void test_stream(void)
{
	struct kq_mig_setup s;
	layout(&s);
	uint8_t *src[2] = {malloc(32 * KQ_MIG_PAGE), malloc(32 * KQ_MIG_PAGE)};
	fill(src[0], 1);
	fill(src[1], 7);
	for (int zstd = 0; zstd < 2; zstd++) {
		struct kq_mig_zstd *z = zstd ? kq_mig_zstd_new(1) : NULL;
		struct kq_bytes st = {0};
		build_stream(&st, &s, src, z, 0, 0);
		struct mem_sink ms = {.want = s};
		ms.mem[0] = calloc(1, 32 * KQ_MIG_PAGE);
		ms.mem[1] = calloc(1, 32 * KQ_MIG_PAGE);
		memset(ms.mem[1], 0xaa, 32 * KQ_MIG_PAGE); /* stale: zero pages must clear */
		char err[512] = "";
		size_t used;
		int rc = receive(&st, &ms, err, sizeof(err), &used);
		is_int(rc, 1, "%s stream received to COMPLETE (%s)", zstd ? "zstd" : "raw", err);
		ok(memcmp(ms.mem[0], src[0], 32 * KQ_MIG_PAGE) == 0 &&
		       memcmp(ms.mem[1], src[1], 32 * KQ_MIG_PAGE) == 0,
		   "%s stream: destination memory equals the source's", zstd ? "zstd" : "raw");
		is_int(ms.states, 2, "both vCPU state records handed on");
		is_int(used, st.len, "every byte consumed");

		/* Truncated: every cut before the end is an error naming the frame. */
		int bad = 0;
		for (size_t cut = 0; cut < st.len; cut += 97) {
			struct kq_bytes t = {.p = st.p, .len = cut};
			if (receive(&t, &ms, err, sizeof(err), &used) != -1 ||
			    !strstr(err, "the stream ends"))
				bad++;
		}
		is_int(bad, 0, "%s: every truncation is reported as the stream ending",
		       zstd ? "zstd" : "raw");
		/* One flipped byte in each frame's payload: the checksum catches it. */
		bad = 0;
		for (size_t at = KQ_MIG_HDR_SIZE; at < st.len; at += 211) {
			st.p[at] ^= 0x40;
			rc = receive(&st, &ms, err, sizeof(err), &used);
			if (rc != -1 || (!strstr(err, "checksum") && !strstr(err, "field"))) {
				printf("# byte %zu: rc %d: %s\n", at, rc, err);
				bad++;
			}
			st.p[at] ^= 0x40;
		}
		is_int(bad, 0, "%s: every corrupted byte is detected", zstd ? "zstd" : "raw");
		free(ms.mem[0]);
		free(ms.mem[1]);
		kq_bytes_free(&st);
		kq_mig_zstd_free(z);
	}

	/* A wrong version: refused at the first header, both versions named. */
	struct kq_bytes st = {0};
	build_stream(&st, &s, src, NULL, 9, 0);
	struct mem_sink ms = {.want = s,
			      .mem = {calloc(1, 32 * KQ_MIG_PAGE), calloc(1, 32 * KQ_MIG_PAGE)}};
	char err[512];
	size_t used;
	is_int(receive(&st, &ms, err, sizeof(err), &used), -1, "wrong version refused");
	has_substr(err, "version 9, this kvmqual speaks version 3", "names both versions");
	has_substr(err, "byte 4", "names the byte offset of the version field");

	/* A mismatched configuration: the difference is named. */
	kq_bytes_reset(&st);
	build_stream(&st, &s, src, NULL, 0, 0);
	ms.want.slots[1].size = 64 * KQ_MIG_PAGE;
	is_int(receive(&st, &ms, err, sizeof(err), &used), -1, "mismatched slot size refused");
	has_substr(err, "slot 1 (test) size: source 131072, destination 262144",
		   "the message names the slot and both sizes");
	ms.want = s;
	ms.want.vcpus = 1;
	receive(&st, &ms, err, sizeof(err), &used);
	has_substr(err, "vCPU count: source 2, destination 1", "vCPU count difference named");
	ms.want = s;
	ms.refuse_state = 1;
	is_int(receive(&st, &ms, err, sizeof(err), &used), -1, "a refused state record fails");
	has_substr(err, "state record refused", "with the sink's reason");

	/* Memory that changed after the pages were sent: hash mismatch. */
	ms.refuse_state = 0;
	kq_bytes_reset(&st);
	build_stream(&st, &s, src, NULL, 0, 1);
	is_int(receive(&st, &ms, err, sizeof(err), &used), -1, "memory hash mismatch detected");
	has_substr(err, "field mem_hash", "named as the mem_hash field");
	free(ms.mem[0]);
	free(ms.mem[1]);
	free(src[0]);
	free(src[1]);
	kq_bytes_free(&st);
}

/* A PAGES payload built by hand, framed with a valid checksum. */
static int decode_run(const struct kq_bytes *payload, struct kq_mig_run *run, char *err, size_t n)
{
	struct kq_mig_setup s;
	layout(&s);
	struct kq_rd r;
	int slot;
	kq_rd_init(&r, payload->p, payload->len, 1000, "frame 5 (PAGES)", err, n);
	return kq_mig_run_decode(&r, &s, run, &slot);
}

static void put_run_hdr(struct kq_bytes *b, uint64_t gpa, uint32_t np, uint32_t flags, uint32_t raw,
			uint32_t dlen)
{
	kq_bytes_reset(b);
	kq_bytes_u64(b, gpa);
	kq_bytes_u32(b, np);
	kq_bytes_u32(b, flags);
	kq_bytes_u32(b, raw);
	kq_bytes_u32(b, dlen);
}

static void test_runs(void)
{
	struct kq_bytes b = {0};
	struct kq_mig_run run;
	char err[512];
	uint8_t bm[32];

	put_run_hdr(&b, 0x1001, 1, 0, 0, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "unaligned gpa refused");
	has_substr(err, "frame 5 (PAGES) byte 1000: field gpa", "names frame, offset and field");

	put_run_hdr(&b, 0, KQ_MIG_MAX_RUN + 1, 0, 0, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "oversized npages refused");
	has_substr(err, "byte 1008: field npages: 257 is outside 1..256", "npages named");

	put_run_hdr(&b, 30 * KQ_MIG_PAGE, 4, 0, 0, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "run past a slot's end refused");
	has_substr(err, "outside every memory slot", "says where");

	put_run_hdr(&b, 0x80000000ULL, 1, 0, 0, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "run between slots refused");

	put_run_hdr(&b, 0, 1, 4, 0, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "unknown flag refused");
	has_substr(err, "field flags", "flags named");

	put_run_hdr(&b, 0, 3, 0, 0, 0);
	bm[0] = 0x0f; /* bit 3 is past page 2 */
	kq_bytes_put(&b, bm, 1);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "bitmap bits past npages refused");

	put_run_hdr(&b, 0, 2, 0, 4096, 4096);
	bm[0] = 0x3; /* both zero, but raw_len claims a page */
	kq_bytes_put(&b, bm, 1);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "raw_len disagreeing with bitmap");
	has_substr(err, "field raw_len", "raw_len named");

	put_run_hdr(&b, 0, 1, 0, 4096, 4096);
	bm[0] = 0;
	kq_bytes_put(&b, bm, 1);
	kq_bytes_put(&b, bm, 1); /* one byte instead of a page */
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "data shorter than data_len refused");
	has_substr(err, "field data: needs 4096 bytes, the payload has 1 left", "short data named");

	put_run_hdr(&b, 0, 1, 0, 0, 0);
	bm[0] = 1;
	kq_bytes_put(&b, bm, 1);
	kq_bytes_u8(&b, 0);
	is_int(decode_run(&b, &run, err, sizeof(err)), -1, "trailing bytes refused");

	/* Version 3: an uncompressed run's checksum is XXH3-64 over its head and
	 * bitmap followed by its data pages' hashes (u64 little-endian), computed
	 * here from the definition (zero pages, data pages, a stretch of each). */
	uint8_t pages[5 * KQ_MIG_PAGE] = {0};
	memset(pages + KQ_MIG_PAGE, 'p', 2 * KQ_MIG_PAGE);
	pages[4 * KQ_MIG_PAGE + 9] = 1;
	uint64_t run_sum = 0;
	uint32_t nh;
	kq_bytes_reset(&b);
	kq_mig_run_put(&b, 0, pages, 5, NULL, NULL, NULL, &run_sum);
	size_t head = 24 + 1;
	uint8_t def[24 + 1 + 3 * 8];
	memcpy(def, b.p, head);
	for (int i = 0; i < 3; i++) {
		uint64_t ph = XXH3_64bits(pages + (i < 2 ? 1 + i : 4) * KQ_MIG_PAGE, KQ_MIG_PAGE);
		for (int j = 0; j < 8; j++)
			def[head + 8 * i + j] = (uint8_t)(ph >> (8 * j));
	}
	is_int(run_sum, XXH3_64bits(def, sizeof(def)), "raw: the run's sum is as defined");
	is_int(kq_mig_pages_sum(b.p, (uint32_t)b.len, NULL, &nh), run_sum,
	       "the destination computes the same from the payload");
	is_int(nh, 3, "and keeps the three data pages' hashes");
	b.p[b.len - 1] ^= 1;
	ok(kq_mig_pages_sum(b.p, (uint32_t)b.len, NULL, &nh) != run_sum,
	   "a flipped data bit shows");
	b.p[b.len - 1] ^= 1;
	b.p[8] = 6; /* npages 6: no longer a well-formed raw run */
	is_int(kq_mig_pages_sum(b.p, (uint32_t)b.len, NULL, &nh), XXH3_64bits(b.p, b.len),
	       "a malformed run: the payload's XXH3");
	is_int(nh, 0, "and no page hashes");

	/* A compressed run whose zstd frame lies about its size. */
	uint8_t page[KQ_MIG_PAGE];
	memset(page, 'x', sizeof(page));
	struct kq_mig_zstd *z = kq_mig_zstd_new(1);
	struct kq_mig_run_stats st = {0};
	kq_bytes_reset(&b);
	uint64_t sum;
	ok(kq_mig_run_put(&b, 0, page, 1, z, NULL, &st, &sum) == 0, "compressible page encoded");
	is_int(sum, XXH3_64bits(b.p, b.len), "compressed: the run's sum is its payload's XXH3");
	ok(st.wire_bytes < 200, "a repetitive page compresses (%llu bytes on the wire)",
	   (unsigned long long)st.wire_bytes);
	ok(decode_run(&b, &run, err, sizeof(err)) == 0 && (run.flags & KQ_MIG_RUN_ZSTD),
	   "compressed run decodes");
	uint8_t dst[KQ_MIG_PAGE];
	struct kq_rd r;
	kq_rd_init(&r, b.p, b.len, 0, "frame 1 (PAGES)", err, sizeof(err));
	ok(kq_mig_run_apply(&run, dst, z, NULL, NULL, &r) == 0 && memcmp(dst, page, 4096) == 0,
	   "compressed run expands to the page");
	b.p[b.len - 3] ^= 0xff; /* inside the zstd frame */
	kq_rd_init(&r, b.p, b.len, 0, "frame 1 (PAGES)", err, sizeof(err));
	decode_run(&b, &run, err, sizeof(err));
	is_int(kq_mig_run_apply(&run, dst, z, NULL, NULL, &r), -1, "corrupt zstd data refused");
	has_substr(err, "field data", "names the data field");
	kq_mig_zstd_free(z);
	kq_bytes_free(&b);
}

static void test_frames_and_setup(void)
{
	struct kq_bytes b = {0};
	struct kq_mig_hdr h;
	char err[512];
	kq_mig_frame_put(&b, KQ_MF_ACK, 7, "abc", 3);
	is_int(kq_mig_hdr_decode(b.p, 0, 7, &h, err, sizeof(err)), 0, "header decodes");
	is_int(kq_mig_payload_verify(b.p, &h, b.p + KQ_MIG_HDR_SIZE, 0, err, sizeof(err)), 0,
	       "checksum verifies");
	is_int(kq_mig_hdr_decode(b.p, 0, 8, &h, err, sizeof(err)), -1, "repeated frame refused");
	has_substr(err, "field seq", "seq named");
	b.p[9] = 0xff;
	is_int(kq_mig_hdr_decode(b.p, 100, 7, &h, err, sizeof(err)), -1, "corrupt length refused");
	has_substr(err, "byte 124: field header checksum", "header checksum named with its offset");
	kq_bytes_reset(&b);
	kq_mig_frame_put(&b, KQ_MF_ACK, 7, "abc", 3);
	b.p[8] = 0xff, b.p[9] = 0xff, b.p[10] = 0xff;
	/* re-seal the header so only the length check is left to catch it */
	uint32_t hs = XXH32(b.p, 24, 0);
	memcpy(b.p + 24, &hs, 4);
	is_int(kq_mig_hdr_decode(b.p, 100, 7, &h, err, sizeof(err)), -1, "huge length refused");
	has_substr(err, "byte 108: field length", "length named with its offset");
	kq_bytes_reset(&b);
	kq_mig_frame_put(&b, KQ_MF_ACK, 7, "abc", 3);
	b.p[0] = 'G';
	is_int(kq_mig_hdr_decode(b.p, 0, 7, &h, err, sizeof(err)), -1, "bad magic refused");
	kq_bytes_free(&b);

	struct kq_mig_setup s, d, sup;
	layout(&s);
	kq_mig_setup_put(&b, &s);
	struct kq_rd r;
	kq_rd_init(&r, b.p, b.len, 24, "frame 0 (SETUP)", err, sizeof(err));
	is_int(kq_mig_setup_decode(&r, &d), 0, "setup decodes");
	ok(memcmp(&s, &d, sizeof(s)) == 0, "setup round trip is exact");
	/* A slot count beyond the limit: the loop must not run past the array. */
	size_t nslots_at = 4 * 4 + 8 + 8 + 4 + 2 + strlen(s.workload) + 16 * 8;
	b.p[nslots_at] = 0xff;
	kq_rd_init(&r, b.p, b.len, 24, "frame 0 (SETUP)", err, sizeof(err));
	is_int(kq_mig_setup_decode(&r, &d), -1, "slot count over the limit refused");
	has_substr(err, "field nslots: 255 exceeds the limit of 32", "nslots named");
	kq_bytes_free(&b);

	layout(&sup);
	is_int(kq_mig_check_offer(&s, &sup, err, sizeof(err)), 0, "same CPUID and MSRs: offered");
	sup.cpuid[1].ebx &= ~(1u << 5);
	is_int(kq_mig_check_offer(&s, &sup, err, sizeof(err)), -1, "missing feature refused");
	has_substr(err, "CPUID leaf 7.0 ebx", "names the leaf and register");
	has_substr(err, "bit 5", "names the bit");
	layout(&sup);
	sup.nmsrs = 1;
	is_int(kq_mig_check_offer(&s, &sup, err, sizeof(err)), -1, "missing MSR refused");
	has_substr(err, "MSR 0xc0000080", "names the MSR");
}

int main(void)
{
	test_frames_and_setup();
	test_runs();
	test_stream();
	return done_testing();
}
