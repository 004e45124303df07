/* One PAGES frame built in place in the send buffer: the source engine and
 * the stream benchmark share it, so the benchmark measures the same code. */
#include "migration-bench/tx.h"

#include "migration-bench/pagemap.h"

int kq_mig_pages_frame(struct kq_bytes *out, uint32_t seq, uint64_t gpa, const uint8_t *mem,
		       uint32_t npages, struct kq_mig_zstd *z, int pagemap,
		       struct kq_mig_run_stats *st)
{
	uint8_t absent[KQ_MIG_MAX_RUN / 8];
	bool known = pagemap >= 0 && kq_mig_absent(pagemap, mem, npages, absent) == 0;
	size_t at = kq_mig_frame_begin(out);
	uint64_t sum;
	if (kq_mig_run_put(out, gpa, mem, npages, z, known ? absent : NULL, st, &sum) < 0)
		return -1;
	kq_mig_frame_end_sum(out, at, KQ_MF_PAGES, seq, sum);
	return 0;
}
