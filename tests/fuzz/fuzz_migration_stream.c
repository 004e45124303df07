/* libFuzzer target: the destination's reading of a migration stream (frame
 * headers, checksums, every record, page runs with zstd, phase order) with
 * a memory-only sink. Any crash, leak or sanitizer report is a defect.
 * Built with -DKQ_FUZZ_GEN it is instead a program writing the seed corpus
 * (valid streams, raw and compressed) into the folder given. */
#include "migration-bench/proto.h"
#include "migration-bench/recv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_MEM (64 * KQ_MIG_PAGE)

struct sink {
	uint8_t *mem[KQ_MIG_MAX_SLOTS];
};

__attribute__((unused)) static int sink_setup(void *ctx, const struct kq_mig_setup *s, char *err,
					      size_t n)
{
	struct sink *k = ctx;
	uint64_t total = 0;
	for (uint32_t i = 0; i < s->nslots; i++) {
		total += s->slots[i].size;
		if (total > FUZZ_MAX_MEM) {
			snprintf(err, n, "fuzz sink: more than %u bytes of memory", FUZZ_MAX_MEM);
			return -1;
		}
	}
	for (uint32_t i = 0; i < s->nslots; i++)
		k->mem[i] = calloc(1, s->slots[i].size);
	return 0;
}
static uint8_t *sink_mem(void *ctx, int slot)
{
	return ((struct sink *)ctx)->mem[slot];
}
__attribute__((unused)) static int sink_state(void *ctx, const struct kq_mig_state *st, char *err,
					      size_t n)
{
	volatile uint8_t x = 0;
	for (uint32_t i = 0; i < st->len; i++) /* touch every byte: ASan checks the bound */
		x ^= st->data[i];
	(void)x;
	return 0;
}

#ifndef KQ_FUZZ_GEN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sink k = {0};
	struct kq_mig_sink s = {sink_setup, sink_mem, sink_state, &k, NULL, NULL};
	struct kq_mig_recv rx;
	char err[512];
	size_t used;
	if (kq_mig_recv_init(&rx, &s) < 0)
		return 0;
	kq_mig_recv_buffer(&rx, data, size, &used, err, sizeof(err));
	kq_mig_recv_free(&rx);
	for (int i = 0; i < KQ_MIG_MAX_SLOTS; i++)
		free(k.mem[i]);
	return 0;
}
#else
static void seed(const char *dir, const char *name, int zstd, int final)
{
	struct kq_mig_setup s = {
	    .version = KQ_MIG_VERSION, .vcpus = 1, .nslots = 2, .workload = "migration.idle"};
	s.slots[0] = (struct kq_mig_slot){.gpa = 0, .size = 16 * KQ_MIG_PAGE, .name = "system"};
	s.slots[1] =
	    (struct kq_mig_slot){.gpa = 0x100000000ULL, .size = 8 * KQ_MIG_PAGE, .name = "test"};
	s.ncpuid = 1;
	s.cpuid[0] = (struct kq_mig_cpuid){.function = 1, .ecx = 1, .edx = 2};
	s.nmsrs = 1;
	s.msrs[0] = 0x10;
	static uint8_t mem0[16 * KQ_MIG_PAGE], mem1[8 * KQ_MIG_PAGE];
	for (size_t i = 0; i < sizeof(mem0); i += 3 * KQ_MIG_PAGE + 17)
		mem0[i] = (uint8_t)i;
	memset(mem1 + KQ_MIG_PAGE, 'a', KQ_MIG_PAGE);
	struct kq_mig_zstd *z = zstd ? kq_mig_zstd_new(1) : NULL;
	struct kq_bytes out = {0}, p = {0};
	uint32_t seq = 0;
	struct kq_mig_run_stats st = {0};
	kq_mig_setup_put(&p, &s);
	kq_mig_frame_put(&out, KQ_MF_SETUP, seq++, p.p, (uint32_t)p.len);
	kq_bytes_reset(&p);
	kq_mig_run_put(&p, 0, mem0, 16, z, NULL, &st, NULL);
	kq_mig_frame_put(&out, KQ_MF_PAGES, seq++, p.p, (uint32_t)p.len);
	kq_bytes_reset(&p);
	kq_mig_run_put(&p, s.slots[1].gpa, mem1, 8, z, NULL, &st, NULL);
	kq_mig_frame_put(&out, KQ_MF_PAGES, seq++, p.p, (uint32_t)p.len);
	kq_bytes_reset(&p);
	struct kq_mig_iter it = {.final = 1, .pages = st.pages, .zero_pages = st.zero_pages};
	kq_mig_iter_put(&p, &it);
	kq_mig_frame_put(&out, KQ_MF_ITER, seq++, p.p, (uint32_t)p.len);
	kq_bytes_reset(&p);
	kq_mig_state_put(&p, KQ_MIG_STATE_VCPU, 0, "state-bytes", 11);
	kq_mig_frame_put(&out, KQ_MF_STATE, seq++, p.p, (uint32_t)p.len);
	if (final) {
		struct sink k = {.mem = {mem0, mem1}};
		struct kq_mig_sink ks = {.slot_mem = sink_mem, .ctx = &k};
		struct kq_mig_complete c = {
		    .mem_hash = kq_mig_mem_hash(&s, &ks), .state_records = 1, .iterations = 1};
		kq_bytes_reset(&p);
		kq_mig_complete_put(&p, &c);
		kq_mig_frame_put(&out, KQ_MF_COMPLETE, seq++, p.p, (uint32_t)p.len);
	} else {
		kq_bytes_reset(&p);
		kq_mig_abort_put(&p, "source gave up");
		kq_mig_frame_put(&out, KQ_MF_ABORT, seq++, p.p, (uint32_t)p.len);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(out.p, 1, out.len, f) != out.len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	kq_bytes_free(&out);
	kq_bytes_free(&p);
	kq_mig_zstd_free(z);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	seed(argv[1], "raw-complete", 0, 1);
	seed(argv[1], "zstd-complete", 1, 1);
	seed(argv[1], "raw-abort", 0, 0);
	return 0;
}
#endif
