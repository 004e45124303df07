/* The page-table builder: walk the built tables like the MMU and check every
 * mapping for 4K, 2M and 1G pages, and the error paths. */
#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/pagetable.h"

#include <stdlib.h>

#define MEM (64ULL << 20)

static uint8_t *mem;

static int check_all(struct kq_pt *pt, uint64_t base, uint64_t size, uint64_t page)
{
	/* Every page of the range, at its first and last byte. */
	for (uint64_t a = base; a < base + size; a += page) {
		uint64_t pa, ps;
		if (kq_pt_walk(pt, a, &pa, &ps) < 0 || pa != a || ps != page)
			return 0;
		if (kq_pt_walk(pt, a + page - 1, &pa, &ps) < 0 || pa != a + page - 1)
			return 0;
	}
	return 1;
}

static void one_size(uint64_t page, const char *name, uint64_t base, uint64_t size)
{
	struct kq_pt pt;
	memset(mem, 0xa5, MEM); /* tables must not depend on zeroed memory */
	ok(kq_pt_init(&pt, mem, 0, MEM, 0x1000, MEM) == 0, "%s: builder set up", name);
	ok(kq_pt_map(&pt, base, size, page) == 0, "%s: [0x%llx, +0x%llx) mapped (%s)", name,
	   (unsigned long long)base, (unsigned long long)size, kq_err());
	ok(check_all(&pt, base, size, page), "%s: every page walks to itself with the right size",
	   name);
	uint64_t pa, ps;
	ok(kq_pt_walk(&pt, base + size, &pa, &ps) < 0, "%s: the byte after the range is not mapped",
	   name);
	if (base)
		ok(kq_pt_walk(&pt, base - 1, &pa, &ps) < 0, "%s: the byte before is not mapped",
		   name);
	ok(pt.next - 0x1000 <= kq_pt_bytes_needed(size, page),
	   "%s: used %llu table bytes, within the estimate %llu", name,
	   (unsigned long long)(pt.next - 0x1000),
	   (unsigned long long)kq_pt_bytes_needed(size, page));
}

int main(void)
{
	mem = aligned_alloc(4096, MEM);
	one_size(KQ_PAGE_4K, "4K", 0x100000000ULL, 8ULL << 20);
	one_size(KQ_PAGE_4K, "4K straddling a 1G boundary", (1ULL << 30) - (2ULL << 20),
		 4ULL << 20);
	one_size(KQ_PAGE_2M, "2M", 0, 4ULL << 30);
	one_size(KQ_PAGE_1G, "1G", 0x100000000ULL, 16ULL << 30);
	one_size(KQ_PAGE_1G, "1G across a 512G boundary", (512ULL << 30) - (2ULL << 30),
		 4ULL << 30);

	struct kq_pt pt;
	kq_pt_init(&pt, mem, 0, MEM, 0x1000, MEM);
	ok(kq_pt_map(&pt, 0x1000, 0x200000, KQ_PAGE_2M) < 0, "a misaligned 2M range is refused");
	has_substr(kq_err(), "not aligned", "with a message saying so");
	ok(kq_pt_map(&pt, 0, 0x1000, 12345) < 0, "an unknown page size is refused");
	ok(kq_pt_map(&pt, 0, 2ULL << 20, KQ_PAGE_2M) == 0 &&
	       kq_pt_map(&pt, 0, 4096, KQ_PAGE_4K) < 0,
	   "mapping 4K inside an existing 2M page is refused");
	has_substr(kq_err(), "large page", "naming the large page");
	ok(kq_pt_map(&pt, 0x200000, 2ULL << 20, KQ_PAGE_2M) == 0 &&
	       kq_pt_map(&pt, 0x200000, 2ULL << 20, KQ_PAGE_2M) < 0,
	   "mapping the same page twice is refused");

	struct kq_pt small;
	kq_pt_init(&small, mem, 0, MEM, 0x1000, 0x4000);
	ok(kq_pt_map(&small, 0, 64ULL << 20, KQ_PAGE_4K) < 0, "a full table area is an error");
	has_substr(kq_err(), "full", "that says the area is full");
	ok(kq_pt_init(&small, mem, 0, MEM, 0x1001, 0x4000) < 0,
	   "a misaligned table area is refused");
	free(mem);
	return done_testing();
}
