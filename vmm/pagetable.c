#include "vmm/pagetable.h"
#include "vmm/err.h"

#include <string.h>

/* Host address of the table at gpa, or NULL outside every chunk. */
static uint64_t *table_at(const struct kq_pt *pt, uint64_t gpa)
{
	for (int i = pt->nchunks - 1; i >= 0; i--) {
		const struct kq_pt_chunk *c = &pt->chunks[i];
		if (gpa >= c->gpa && gpa + KQ_PAGE_4K <= c->gpa + c->size)
			return (uint64_t *)(c->host + (gpa - c->gpa));
	}
	return NULL;
}

static void wrote(struct kq_pt *pt, uint64_t gpa, uint64_t len)
{
	if (pt->dirty)
		pt->dirty(pt->ctx, gpa, len);
}

static int add_chunk(struct kq_pt *pt, const struct kq_pt_chunk *c, uint64_t start)
{
	if (pt->nchunks == KQ_PT_MAX_CHUNKS)
		return kq_err_set("page tables: more than %d chunks of table space",
				  KQ_PT_MAX_CHUNKS);
	pt->chunks[pt->nchunks++] = *c;
	pt->next = start;
	pt->limit = c->gpa + c->size;
	return 0;
}

static int alloc_table(struct kq_pt *pt, uint64_t *gpa)
{
	if (pt->next + KQ_PAGE_4K > pt->limit) {
		struct kq_pt_chunk c;
		if (!pt->grow)
			return kq_err_set("page tables: table area ending at 0x%llx is full",
					  (unsigned long long)pt->limit);
		if (pt->grow(pt->ctx, &c) < 0)
			return -1;
		if (c.gpa % KQ_PAGE_4K || c.size < KQ_PAGE_4K)
			return kq_err_set("page tables: new chunk [0x%llx, +0x%llx) is not "
					  "4K-aligned",
					  (unsigned long long)c.gpa, (unsigned long long)c.size);
		if (add_chunk(pt, &c, c.gpa) < 0)
			return -1;
	}
	*gpa = pt->next;
	pt->next += KQ_PAGE_4K;
	memset(table_at(pt, *gpa), 0, KQ_PAGE_4K);
	wrote(pt, *gpa, KQ_PAGE_4K);
	return 0;
}

int kq_pt_init(struct kq_pt *pt, void *mem, uint64_t mem_gpa, uint64_t mem_size,
	       uint64_t alloc_start, uint64_t alloc_end)
{
	if (alloc_start % KQ_PAGE_4K || alloc_start < mem_gpa || alloc_end > mem_gpa + mem_size ||
	    alloc_start >= alloc_end)
		return kq_err_set("page tables: bad table area [0x%llx, 0x%llx)",
				  (unsigned long long)alloc_start, (unsigned long long)alloc_end);
	memset(pt, 0, sizeof(*pt));
	struct kq_pt_chunk c = {(uint8_t *)mem + (alloc_start - mem_gpa), alloc_start,
				alloc_end - alloc_start};
	add_chunk(pt, &c, alloc_start);
	return alloc_table(pt, &pt->pml4);
}

void kq_pt_set_hooks(struct kq_pt *pt, kq_pt_grow_fn grow, kq_pt_dirty_fn dirty, void *ctx)
{
	pt->grow = grow;
	pt->dirty = dirty;
	pt->ctx = ctx;
	/* The tables written before the hook count as written too. */
	for (int i = 0; dirty && i < pt->nchunks; i++) {
		const struct kq_pt_chunk *c = &pt->chunks[i];
		uint64_t end =
		    pt->next > c->gpa && pt->next <= c->gpa + c->size ? pt->next : c->gpa + c->size;
		dirty(ctx, c->gpa, end - c->gpa);
	}
}

/* Returns the next-level table behind entry e of table t (at t_gpa), creating it. */
static int next_level(struct kq_pt *pt, uint64_t t_gpa, unsigned e, uint64_t *out)
{
	uint64_t *t = table_at(pt, t_gpa);
	if (t[e] & KQ_PTE_P) {
		if (t[e] & KQ_PTE_PS)
			return kq_err_set("page tables: range overlaps a large page");
		*out = t[e] & KQ_PTE_ADDR;
		return 0;
	}
	if (alloc_table(pt, out) < 0)
		return -1;
	t = table_at(pt, t_gpa); /* unchanged: chunks are only added */
	t[e] = *out | KQ_PTE_P | KQ_PTE_RW;
	wrote(pt, t_gpa + e * 8, 8);
	return 0;
}

static int leaf_level(uint64_t page_size)
{
	/* 2 = PDPT (1G), 1 = PD (2M), 0 = PT (4K). */
	return page_size == KQ_PAGE_1G ? 2 : page_size == KQ_PAGE_2M ? 1 : 0;
}

static int map_one(struct kq_pt *pt, uint64_t addr, uint64_t page_size)
{
	int leaf = leaf_level(page_size);
	uint64_t table = pt->pml4;
	for (int level = 3; level > leaf; level--) {
		unsigned e = (addr >> (12 + 9 * level)) & 511;
		if (next_level(pt, table, e, &table) < 0)
			return -1;
	}
	uint64_t *t = table_at(pt, table);
	unsigned e = (addr >> (12 + 9 * leaf)) & 511;
	if (t[e] & KQ_PTE_P)
		return kq_err_set("page tables: 0x%llx is mapped twice", (unsigned long long)addr);
	t[e] = addr | KQ_PTE_P | KQ_PTE_RW | (leaf ? KQ_PTE_PS : 0);
	wrote(pt, table + e * 8, 8);
	return 0;
}

static int check_range(uint64_t gpa, uint64_t size, uint64_t align)
{
	if (gpa % align || size % align)
		return kq_err_set("page tables: [0x%llx, +0x%llx) is not aligned to %llu",
				  (unsigned long long)gpa, (unsigned long long)size,
				  (unsigned long long)align);
	if (gpa + size < gpa || gpa + size > (1ULL << 47))
		return kq_err_set("page tables: 0x%llx is beyond 47 bits",
				  (unsigned long long)(gpa + size));
	return 0;
}

int kq_pt_map(struct kq_pt *pt, uint64_t gpa, uint64_t size, uint64_t page_size)
{
	if (page_size != KQ_PAGE_4K && page_size != KQ_PAGE_2M && page_size != KQ_PAGE_1G)
		return kq_err_set("page tables: unsupported page size %llu",
				  (unsigned long long)page_size);
	if (check_range(gpa, size, page_size) < 0)
		return -1;
	for (uint64_t a = gpa; a < gpa + size; a += page_size)
		if (map_one(pt, a, page_size) < 0)
			return -1;
	return 0;
}

int kq_pt_unmap(struct kq_pt *pt, uint64_t gpa, uint64_t size)
{
	if (check_range(gpa, size, KQ_PAGE_4K) < 0)
		return -1;
	uint64_t a = gpa, end = gpa + size;
	while (a < end) {
		uint64_t table = pt->pml4;
		for (int level = 3; level >= 0; level--) {
			uint64_t span = 1ULL << (12 + 9 * level);
			unsigned e = (a >> (12 + 9 * level)) & 511;
			uint64_t *t = table_at(pt, table);
			if (!t || !(t[e] & KQ_PTE_P)) {
				a = (a & ~(span - 1)) + span; /* nothing mapped in this span */
				break;
			}
			if (level == 0 || (t[e] & KQ_PTE_PS)) {
				if (a % span || end - a < span)
					return kq_err_set("page tables: unmapping [0x%llx, 0x%llx) "
							  "would split the %llu KiB page at 0x%llx",
							  (unsigned long long)gpa,
							  (unsigned long long)end,
							  (unsigned long long)(span >> 10),
							  (unsigned long long)(a & ~(span - 1)));
				t[e] = 0;
				wrote(pt, table + e * 8, 8);
				a += span;
				break;
			}
			table = t[e] & KQ_PTE_ADDR;
		}
	}
	return 0;
}

int kq_pt_walk(const struct kq_pt *pt, uint64_t gva, uint64_t *gpa, uint64_t *page_size)
{
	uint64_t table = pt->pml4;
	for (int level = 3; level >= 0; level--) {
		const uint64_t *t = table_at(pt, table);
		if (!t)
			return -1;
		uint64_t ent = t[(gva >> (12 + 9 * level)) & 511];
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

uint64_t kq_pt_bytes_used(const struct kq_pt *pt)
{
	uint64_t used = 0;
	for (int i = 0; i < pt->nchunks - 1; i++)
		used += pt->chunks[i].size;
	if (pt->nchunks)
		used += pt->next - pt->chunks[pt->nchunks - 1].gpa;
	return used;
}
