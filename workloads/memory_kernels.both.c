/* The memory kernels, compiled once with the guest's flags (no SSE, no red
 * zone, no jump tables, no calls outside this file) into one object that the
 * guest image and the host binary both link: the guest and the native runs
 * execute identical bytes (tests/unit/test_memory_kernels.c checks that the
 * host's copy is found, byte for byte, in the embedded guest image). Nothing
 * here references data or other objects, so the code needs no relocation
 * and is the same wherever it is placed. */
#include "workloads/memory_kernels.h"

#define KQ_MEMK_TEXT __attribute__((section("kq_memk")))

static inline uint64_t rdtsc_serialised(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Each line's (or page's) first word holding the next one's address: every
 * load's address depends on the one before, so they cannot overlap. */
static KQ_MEMK_TEXT uint64_t chase(uint64_t p, uint64_t n)
{
	for (; n >= 8; n -= 8) {
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
		p = *(const volatile uint64_t *)p;
	}
	while (n--)
		p = *(const volatile uint64_t *)p;
	return p;
}

/* Reads n lines from line `pos` on, wrapping at `lines`: eight 8-byte loads
 * per line into two sums. */
static KQ_MEMK_TEXT uint64_t stream_read(uint64_t base, uint64_t lines, uint64_t *pos, uint64_t n)
{
	uint64_t a = 0, b = 0, cur = *pos;
	const volatile uint64_t *l = (const volatile uint64_t *)(base + cur * KQ_MEMK_LINE);
	while (n--) {
		a += l[0] + l[2] + l[4] + l[6];
		b += l[1] + l[3] + l[5] + l[7];
		l += 8;
		if (++cur == lines) {
			cur = 0;
			l = (const volatile uint64_t *)base;
		}
	}
	*pos = cur;
	return a + b;
}

static KQ_MEMK_TEXT void stream_write(uint64_t base, uint64_t lines, uint64_t *pos, uint64_t n)
{
	uint64_t cur = *pos;
	volatile uint64_t *l = (volatile uint64_t *)(base + cur * KQ_MEMK_LINE);
	while (n--) {
		l[0] = cur;
		l[1] = cur;
		l[2] = cur;
		l[3] = cur;
		l[4] = cur;
		l[5] = cur;
		l[6] = cur;
		l[7] = cur;
		l += 8;
		if (++cur == lines) {
			cur = 0;
			l = (volatile uint64_t *)base;
		}
	}
	*pos = cur;
}

KQ_MEMK_TEXT void kq_memk_run(struct kq_memk *k, uint64_t n)
{
	/* An if-chain, not a switch: a jump table would need relocations. */
	if (k->kernel == KQ_MEMK_CHASE || k->kernel == KQ_MEMK_RANDPAGE)
		k->pos = chase(k->pos, n);
	else if (k->kernel == KQ_MEMK_READ)
		k->sink += stream_read(k->base, k->lines, &k->pos, n);
	else if (k->kernel == KQ_MEMK_WRITE)
		stream_write(k->base, k->lines, &k->pos, n);
}

KQ_MEMK_TEXT void kq_memk_prefault(struct kq_memk *k, uint64_t bytes)
{
	/* One load per 4 KiB page: enough to fault the set in (host and guest
	 * page tables), cheap where guest instructions are emulated. */
	uint64_t sum = 0;
	for (uint64_t off = 0; off < bytes; off += KQ_MEMK_PAGE)
		sum += *(const volatile uint64_t *)(k->base + off);
	k->sink += sum;
}

#define BATCHES_PER_GOAL 32
#define MIN_BATCHES	 8
#define WARMUP_ACCESSES	 64

KQ_MEMK_TEXT uint64_t kq_memk_measure(struct kq_memk *k, uint64_t goal, uint64_t *samples,
				      uint64_t max, uint64_t *batch_out)
{
	uint64_t batch = 1, t0, t1;
	kq_memk_run(k, WARMUP_ACCESSES);
	for (;;) {
		t0 = rdtsc_serialised();
		kq_memk_run(k, batch);
		t1 = rdtsc_serialised();
		if (t1 - t0 >= goal / BATCHES_PER_GOAL || batch >= (1ULL << 32))
			break;
		batch *= 2;
	}
	uint64_t n = 0, spent = 0;
	while ((spent < goal || n < MIN_BATCHES) && n < max) {
		t0 = rdtsc_serialised();
		kq_memk_run(k, batch);
		t1 = rdtsc_serialised();
		samples[n++] = t1 - t0;
		spent += t1 - t0;
	}
	*batch_out = batch;
	return n;
}
