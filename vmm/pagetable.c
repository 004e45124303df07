#include "vmm/pagetable.h"
#include "vmm/err.h"

#include <string.h>

static uint64_t *table_at(const struct kq_pt *pt, uint64_t gpa)
{
	return (uint64_t *)(pt->mem + (gpa - pt->mem_gpa));
}

static int alloc_table(struct kq_pt *pt, uint64_t *gpa)
{
	if (pt->next + KQ_PAGE_4K > pt->limit)
		return kq_err_set("page tables: table area ending at 0x%llx is full",
				  (unsigned long long)pt->limit);
	*gpa = pt->next;
	pt->next += KQ_PAGE_4K;
	memset(table_at(pt, *gpa), 0, KQ_PAGE_4K);
	return 0;
}

int kq_pt_init(struct kq_pt *pt, void *mem, uint64_t mem_gpa, uint64_t mem_size,
	       uint64_t alloc_start, uint64_t alloc_end)
{
	if (alloc_start % KQ_PAGE_4K || alloc_start < mem_gpa || alloc_end > mem_gpa + mem_size ||
	    alloc_start >= alloc_end)
		return kq_err_set("page tables: bad table area [0x%llx, 0x%llx)",
				  (unsigned long long)alloc_start, (unsigned long long)alloc_end);
	pt->mem = mem;
	pt->mem_gpa = mem_gpa;
	pt->mem_size = mem_size;
	pt->next = alloc_start;
	pt->limit = alloc_end;
	return alloc_table(pt, &pt->pml4);
}

/* Returns the next-level table behind entry e of table t, creating it. */
static int next_level(struct kq_pt *pt, uint64_t *t, unsigned e, uint64_t *out)
{
	if (t[e] & KQ_PTE_P) {
		if (t[e] & KQ_PTE_PS)
			return kq_err_set("page tables: range overlaps a large page");
		*out = t[e] & KQ_PTE_ADDR;
		return 0;
	}
	if (alloc_table(pt, out) < 0)
		return -1;
	t[e] = *out | KQ_PTE_P | KQ_PTE_RW;
	return 0;
}

static int map_one(struct kq_pt *pt, uint64_t addr, uint64_t page_size)
{
	/* Level of the leaf: 2 = PDPT (1G), 1 = PD (2M), 0 = PT (4K). */
	int leaf = page_size == KQ_PAGE_1G ? 2 : page_size == KQ_PAGE_2M ? 1 : 0;
	uint64_t table = pt->pml4;
	for (int level = 3; level > leaf; level--) {
		unsigned e = (addr >> (12 + 9 * level)) & 511;
		if (next_level(pt, table_at(pt, table), e, &table) < 0)
			return -1;
	}
	uint64_t *t = table_at(pt, table);
	unsigned e = (addr >> (12 + 9 * leaf)) & 511;
	if (t[e] & KQ_PTE_P)
		return kq_err_set("page tables: 0x%llx is mapped twice", (unsigned long long)addr);
	t[e] = addr | KQ_PTE_P | KQ_PTE_RW | (leaf ? KQ_PTE_PS : 0);
	return 0;
}

int kq_pt_map(struct kq_pt *pt, uint64_t gpa, uint64_t size, uint64_t page_size)
{
	if (page_size != KQ_PAGE_4K && page_size != KQ_PAGE_2M && page_size != KQ_PAGE_1G)
		return kq_err_set("page tables: unsupported page size %llu",
				  (unsigned long long)page_size);
	if (gpa % page_size || size % page_size)
		return kq_err_set("page tables: [0x%llx, +0x%llx) is not aligned to %llu",
				  (unsigned long long)gpa, (unsigned long long)size,
				  (unsigned long long)page_size);
	if (gpa + size > (1ULL << 47))
		return kq_err_set("page tables: 0x%llx is beyond 47 bits",
				  (unsigned long long)(gpa + size));
	for (uint64_t a = gpa; a < gpa + size; a += page_size)
		if (map_one(pt, a, page_size) < 0)
			return -1;
	return 0;
}

int kq_pt_walk(const struct kq_pt *pt, uint64_t gva, uint64_t *gpa, uint64_t *page_size)
{
	uint64_t table = pt->pml4;
	for (int level = 3; level >= 0; level--) {
		if (table < pt->mem_gpa || table + KQ_PAGE_4K > pt->mem_gpa + pt->mem_size)
			return -1;
		uint64_t ent = table_at(pt, table)[(gva >> (12 + 9 * level)) & 511];
		if (!(ent & KQ_PTE_P))
			return -1;
		if (level == 0 || (ent & KQ_PTE_PS)) {
			if (level == 3)
				return -1; /* PS is reserved in a PML4E */
			uint64_t size = 1ULL << (12 + 9 * level);
			*page_size = size;
			*gpa = (ent & KQ_PTE_ADDR & ~(size - 1)) | (gva & (size - 1));
			return 0;
		}
		table = ent & KQ_PTE_ADDR;
	}
	return -1;
}

uint64_t kq_pt_bytes_needed(uint64_t size, uint64_t page_size)
{
	/* One table per 512 entries at each level below the PML4, plus one slack
	 * table per level for a range that straddles a table boundary. */
	uint64_t total = KQ_PAGE_4K, span = page_size;
	int levels = page_size == KQ_PAGE_1G ? 1 : page_size == KQ_PAGE_2M ? 2 : 3;
	for (int i = 0; i < levels; i++) {
		span *= 512;
		total += ((size + span - 1) / span + 1) * KQ_PAGE_4K;
	}
	return total;
}
