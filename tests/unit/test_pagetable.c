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

/* Table space handed out 16 KiB at a time from the top half of mem. */
struct grow_ctx {
	uint64_t next_gpa;
	int grown;
	uint64_t dirty_bytes;
	uint64_t dirty_lo, dirty_hi;
};

static int grow(void *ctx, struct kq_pt_chunk *out)
{
	struct grow_ctx *g = ctx;
	if (g->next_gpa + 0x4000 > MEM)
		return kq_err_set("test: out of chunks");
	*out = (struct kq_pt_chunk){mem + g->next_gpa, g->next_gpa, 0x4000};
	g->next_gpa += 0x4000;
	g->grown++;
	return 0;
}

static void dirty(void *ctx, uint64_t gpa, uint64_t len)
{
	struct grow_ctx *g = ctx;
	g->dirty_bytes += len;
	if (gpa < g->dirty_lo)
		g->dirty_lo = gpa;
	if (gpa + len > g->dirty_hi)
		g->dirty_hi = gpa + len;
}

static void growth_and_unmap(void)
{
	struct kq_pt pt;
	struct grow_ctx g = {.next_gpa = MEM / 2, .dirty_lo = ~0ULL};
	memset(mem, 0xa5, MEM);
	ok(kq_pt_init(&pt, mem, 0, MEM, 0x1000, 0x3000) == 0, "grow: two-table first chunk");
	kq_pt_set_hooks(&pt, grow, dirty, &g);
	ok(g.dirty_bytes == 0x1000, "grow: the PML4 written before the hooks counts as written");
	ok(kq_pt_map(&pt, 0, 16ULL << 20, KQ_PAGE_4K) == 0, "grow: 16 MiB of 4K pages mapped (%s)",
	   kq_err());
	ok(check_all(&pt, 0, 16ULL << 20, KQ_PAGE_4K), "grow: every page walks to itself");
	/* 8 PTs + PD + PDPT + PML4 = 11 tables: the first chunk holds 2, each new one 4. */
	is_int(g.grown, 3, "grow: the hook added the chunks the tables needed");
	is_int(kq_pt_bytes_used(&pt), 0x2000 + 2 * 0x4000 + 0x1000 * 1,
	       "grow: bytes used count every chunk");
	ok(g.dirty_lo == 0x1000 && g.dirty_hi <= MEM / 2 + 3 * 0x4000,
	   "grow: every write lies in table space [0x%llx, 0x%llx)", (unsigned long long)g.dirty_lo,
	   (unsigned long long)g.dirty_hi);

	uint64_t pa, ps, before = g.dirty_bytes;
	ok(kq_pt_unmap(&pt, 0x5000, 0x3000) == 0, "unmap: three 4K pages");
	ok(kq_pt_walk(&pt, 0x5000, &pa, &ps) < 0 && kq_pt_walk(&pt, 0x7fff, &pa, &ps) < 0,
	   "unmap: they no longer walk");
	ok(kq_pt_walk(&pt, 0x4fff, &pa, &ps) == 0 && kq_pt_walk(&pt, 0x8000, &pa, &ps) == 0,
	   "unmap: their neighbours still do");
	is_int(g.dirty_bytes - before, 3 * 8, "unmap: three entries written");
	ok(kq_pt_unmap(&pt, 0x4000, 0x4000) == 0, "unmap: a range with holes is fine");
	ok(kq_pt_map(&pt, 0x5000, 0x1000, KQ_PAGE_4K) == 0 &&
	       kq_pt_walk(&pt, 0x5000, &pa, &ps) == 0 && pa == 0x5000,
	   "unmap: a page can be mapped again");
	ok(kq_pt_unmap(&pt, 1ULL << 40, 1ULL << 30) == 0, "unmap: nothing mapped there is fine");

	struct kq_pt big;
	kq_pt_init(&big, mem, 0, MEM, 0x1000, MEM / 2);
	kq_pt_map(&big, 0, 8ULL << 20, KQ_PAGE_2M);
	ok(kq_pt_unmap(&big, 0x200000, 0x1000) < 0, "unmap: part of a 2M page is refused");
	has_substr(kq_err(), "split the 2048 KiB page at 0x200000", "naming the page");
	ok(kq_pt_unmap(&big, 0x200000, 0x400000) == 0 && kq_pt_walk(&big, 0x3fffff, &pa, &ps) < 0 &&
	       kq_pt_walk(&big, 0x600000, &pa, &ps) == 0,
	   "unmap: two whole 2M pages");

	struct kq_pt none;
	kq_pt_init(&none, mem, 0, MEM, 0x1000, 0x2000);
	struct grow_ctx full = {.next_gpa = MEM};
	kq_pt_set_hooks(&none, grow, NULL, &full);
	ok(kq_pt_map(&none, 0, 0x1000, KQ_PAGE_4K) < 0, "grow: a failing hook fails the map");
	has_substr(kq_err(), "out of chunks", "with the hook's error");
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
	growth_and_unmap();
	free(mem);
	return done_testing();
}
