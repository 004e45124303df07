/* The native half of the memory measurements: the shared kernels on host
 * memory with the same backing, timed with the same code. */
#include "workloads/memory_chain.h"
#include "workloads/memory_host.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const kernel_names[KQ_MEMK_COUNT] = {"none", "chase", "read", "write",
							"randpage"};

const char *kq_memk_name(enum kq_memk_kernel k)
{
	return k < KQ_MEMK_COUNT ? kernel_names[k] : "?";
}

int kq_memk_parse(const char *s)
{
	for (int i = 1; i < KQ_MEMK_COUNT; i++)
		if (strcasecmp(s, kernel_names[i]) == 0)
			return i;
	return -1;
}

uint64_t kq_memk_chain_stride(enum kq_memk_kernel k)
{
	return k == KQ_MEMK_CHASE ? KQ_MEMK_LINE : k == KQ_MEMK_RANDPAGE ? KQ_MEMK_PAGE : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

uint64_t kq_tsc_khz_calibrate(void)
{
	/* Best of three 20 ms windows: a preempted window only looks longer. */
	uint64_t best = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t n0 = now_ns(), c0 = rdtsc(), n1, c1;
		do
			n1 = now_ns();
		while (n1 - n0 < 20000000ULL);
		c1 = rdtsc();
		uint64_t khz = (c1 - c0) * 1000000ULL / (n1 - n0);
		if (!best || khz < best)
			best = khz;
	}
	return best;
}

uint64_t kq_memk_native(enum kq_memk_kernel kernel, uint8_t *mem, uint64_t bytes, uint64_t seed,
			uint64_t goal_cycles, uint64_t *samples, uint64_t max, uint64_t *batch)
{
	struct kq_memk k = {
	    .kernel = kernel, .base = (uint64_t)(uintptr_t)mem, .lines = bytes / KQ_MEMK_LINE};
	uint64_t stride = kq_memk_chain_stride(kernel);
	if (stride && !(k.pos = kq_chain_build(mem, (uint64_t)(uintptr_t)mem, bytes, stride, seed)))
		return 0;
	kq_memk_prefault(&k, bytes);
	return kq_memk_measure(&k, goal_cycles, samples, max, batch);
}

size_t kq_working_sets(uint64_t min, uint64_t max, int per, uint64_t *out, size_t cap)
{
	size_t n = 0;
	if (per < 1)
		per = 1;
	for (int i = 0; n < cap; i++) {
		double v = (double)min * __builtin_exp2((double)i / per);
		uint64_t b = (uint64_t)v / 4096 * 4096;
		if (b >= max)
			break;
		if (n && out[n - 1] == b)
			continue;
		out[n++] = b;
	}
	if (n < cap && (!n || out[n - 1] != max))
		out[n++] = max;
	return n;
}

uint64_t kq_default_max_set(void)
{
	uint64_t cap = 1ULL << 30;
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1 && kb * 1024 / 4 < cap)
			cap = kb * 1024 / 4;
	if (f)
		fclose(f);
	return cap / 4096 * 4096;
}
