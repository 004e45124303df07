/* The memory kernels the host runs natively are the very bytes in the guest
 * image (one object linked into both), and they do what they say on host
 * memory: the chase ends where the chain says, read and write touch every
 * line. */
#include "tests/tap.h"
#include "workloads/memory_chain.h"
#include "workloads/memory_host.h"
#include "workloads/memory_kernels.h"

#include <stdlib.h>

extern const uint8_t kq_guest_blob[], kq_guest_blob_end[];

int main(void)
{
	size_t len = (size_t)(__stop_kq_memk - __start_kq_memk);
	size_t blob = (size_t)(kq_guest_blob_end - kq_guest_blob);
	ok(len > 64, "the host binary holds the kernels' section (%zu bytes)", len);
	const uint8_t *hit = memmem(kq_guest_blob, blob, __start_kq_memk, len);
	ok(hit != NULL, "the guest image holds the same %zu bytes", len);
	/* Each entry point sits at the same offset in both copies. */
	const void *fns[] = {(const void *)kq_memk_run, (const void *)kq_memk_prefault,
			     (const void *)kq_memk_measure};
	for (size_t i = 0; i < 3; i++) {
		size_t off = (size_t)((const uint8_t *)fns[i] - __start_kq_memk);
		ok(off < len && hit && memcmp(hit + off, __start_kq_memk + off, len - off) == 0,
		   "entry point %zu at offset %zu: identical in guest and host", i, off);
	}

	/* The chase on host memory: n steps from the first entry end where
	 * walking the chain by hand ends. */
	uint64_t bytes = 256 << 10;
	uint8_t *mem = aligned_alloc(4096, bytes);
	uint64_t first = kq_chain_build(mem, (uint64_t)(uintptr_t)mem, bytes, KQ_MEMK_LINE, 3);
	struct kq_memk k = {.kernel = KQ_MEMK_CHASE, .base = (uintptr_t)mem, .pos = first};
	kq_memk_run(&k, 1000);
	uint64_t p = first;
	for (int i = 0; i < 1000; i++)
		p = *(uint64_t *)(uintptr_t)p;
	ok(k.pos == p, "chase: 1000 steps end where the chain says");
	kq_memk_run(&k, bytes / KQ_MEMK_LINE);
	ok(k.pos == p, "chase: a whole cycle more returns to the same line");

	/* Write then read: every word written, the sum as computed by hand. */
	struct kq_memk w = {.kernel = KQ_MEMK_WRITE, .base = (uintptr_t)mem, .lines = 64};
	memset(mem, 0xff, bytes);
	kq_memk_run(&w, 64 + 10);
	ok(w.pos == 10, "write: wraps after the last line");
	int all = 1;
	for (uint64_t i = 0; i < 64 * 8; i++)
		all &= ((uint64_t *)mem)[i] == i / 8;
	ok(all, "write: each line holds its own index in all 8 words");
	ok(((uint64_t *)mem)[64 * 8] == UINT64_MAX, "write: nothing past the set");
	struct kq_memk r = {.kernel = KQ_MEMK_READ, .base = (uintptr_t)mem, .lines = 64};
	kq_memk_run(&r, 64);
	ok(r.sink == 8 * (63 * 64 / 2), "read: the sum of every word of the set");

	uint64_t samples[64], batch = 0;
	first = kq_chain_build(mem, (uint64_t)(uintptr_t)mem, bytes, KQ_MEMK_LINE, 3);
	struct kq_memk m = {.kernel = KQ_MEMK_CHASE, .base = (uintptr_t)mem, .pos = first};
	uint64_t n = kq_memk_measure(&m, 2000000, samples, 64, &batch);
	ok(n >= 8 && n <= 64 && batch > 0, "measure: %llu batches of %llu accesses",
	   (unsigned long long)n, (unsigned long long)batch);
	free(mem);
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
