/* The step-script interpreter: runs the parameter page's steps in order and
 * reports each one's duration, so suite.conf composes scenarios without C. */
#include "guest/guest.h"

static void step_cpuid(uint64_t iters, uint32_t leaf)
{
	uint32_t r[4];
	for (uint64_t i = 0; i < iters; i++)
		kq_cpuid(leaf, 0, r);
}

static void step_spin(struct kq_params *p, uint64_t us)
{
	uint64_t end = kq_rdtsc_begin() + us * p->tsc_khz / 1000;
	while (kq_rdtsc_begin() < end)
		kq_pause();
}

static uint64_t step_touch(struct kq_params *p, uint64_t bytes, uint64_t stride)
{
	volatile uint8_t *mem = (volatile uint8_t *)(uintptr_t)p->test_gpa;
	/* suite.conf refuses a touch that does not fit the test memory; one that
	 * gets here anyway fails rather than touching less than it says. */
	KQ_GUEST_ASSERT(p->test_gpa && bytes <= p->test_size && stride);
	uint64_t n = 0;
	for (uint64_t off = 0; off < bytes; off += stride, n++)
		mem[off] = (uint8_t)off;
	return n;
}

void kq_run_steps(struct kq_params *p)
{
	for (uint32_t i = 0; i < p->nsteps; i++) {
		const struct kq_step *s = &p->steps[i];
		uint64_t iters = s->arg[0];
		uint64_t t0 = kq_rdtsc_begin();
		switch (s->op) {
		case KQ_STEP_CPUID:
			step_cpuid(iters, (uint32_t)s->arg[1]);
			break;
		case KQ_STEP_PIO:
			for (uint64_t k = 0; k < iters; k++)
				kq_outb(KQ_PIO_BENCH_PORT, 0);
			break;
		case KQ_STEP_SPIN:
			step_spin(p, s->arg[0]);
			iters = 1;
			break;
		case KQ_STEP_TOUCH:
			iters = step_touch(p, s->arg[0], s->arg[1]);
			break;
		case KQ_STEP_SYNC:
			kq_sync(s->arg[0]);
			iters = 1;
			break;
		default:
			kq_printf("step %u: unknown op %u", i, s->op);
			kq_assert_fail(__FILE__, __LINE__, "known step op");
		}
		uint64_t t1 = kq_rdtsc_end();
		struct kq_ucall *uc = &p->ucall;
		memset(uc, 0, sizeof(*uc));
		uc->kind = KQ_UC_STEP;
		uc->args[0] = i;
		uc->args[1] = s->op;
		uc->args[2] = t1 - t0;
		uc->args[3] = iters;
		kq_ucall(uc);
	}
}
