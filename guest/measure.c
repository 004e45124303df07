/* Adaptive measurement: warm up, grow the batch until it is long enough to
 * time well, then record per-batch totals until the time goal is spent. */
#include "guest/guest.h"

#define KQ_BATCHES_PER_GOAL 32
#define KQ_MIN_BATCHES	    8
#define KQ_WARMUP_ITERS	    64

void kq_measure(const char *name, kq_measured_fn op, void *ctx)
{
	struct kq_params *p = kq_self_params();
	uint64_t goal = p->time_goal_cycles ? p->time_goal_cycles : p->tsc_khz * 100;
	uint64_t *samples = (uint64_t *)(uintptr_t)p->samples_gpa;

	op(ctx, KQ_WARMUP_ITERS);

	uint64_t batch = 1, t0, t1;
	for (;;) {
		t0 = kq_rdtsc_begin();
		op(ctx, batch);
		t1 = kq_rdtsc_end();
		if (t1 - t0 >= goal / KQ_BATCHES_PER_GOAL || batch >= (1ULL << 32))
			break;
		batch *= 2;
	}

	uint64_t n = 0, spent = 0;
	while ((spent < goal || n < KQ_MIN_BATCHES) && n < KQ_MAX_SAMPLES) {
		t0 = kq_rdtsc_begin();
		op(ctx, batch);
		t1 = kq_rdtsc_end();
		samples[n++] = t1 - t0;
		spent += t1 - t0;
	}
	kq_samples(name, "cycles", samples, n, batch);
}
