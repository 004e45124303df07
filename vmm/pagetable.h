/* Host-built x86-64 4-level identity page tables. The tables live in guest
 * memory, in chunks the owner supplies: the first at init, more through the
 * grow hook when a mapping needs them (the VM adds a memslot per chunk). The
 * builder writes them through host pointers and reports every write to the
 * dirty hook, so dirty tracking sees the vmm's own writes. */
#ifndef KQ_VMM_PAGETABLE_H
#define KQ_VMM_PAGETABLE_H

#include <stdint.h>

#define KQ_PAGE_4K (1ULL << 12)
#define KQ_PAGE_2M (1ULL << 21)
#define KQ_PAGE_1G (1ULL << 30)

#define KQ_PTE_P    (1ULL << 0)
#define KQ_PTE_RW   (1ULL << 1)
#define KQ_PTE_PS   (1ULL << 7)
#define KQ_PTE_NX   (1ULL << 63)
#define KQ_PTE_ADDR 0x000ffffffffff000ULL

#define KQ_PT_MAX_CHUNKS 512

/* Guest memory that holds tables: [gpa, gpa + size) at host address host. */
struct kq_pt_chunk {
	uint8_t *host;
	uint64_t gpa, size;
};

/* Adds a chunk of table space (0), or -1 with an error set. */
typedef int (*kq_pt_grow_fn)(void *ctx, struct kq_pt_chunk *out);
/* Called for every byte range of guest memory the builder writes. */
typedef void (*kq_pt_dirty_fn)(void *ctx, uint64_t gpa, uint64_t len);

struct kq_pt {
	struct kq_pt_chunk chunks[KQ_PT_MAX_CHUNKS];
	int nchunks;
	uint64_t next;	/* next free table (guest-physical), in the last chunk */
	uint64_t limit; /* end of the last chunk's table area */
	uint64_t pml4;	/* CR3 */
	kq_pt_grow_fn grow;
	kq_pt_dirty_fn dirty;
	void *ctx;
};

/* Tables are allocated from [alloc_start, alloc_end), which must lie inside
 * [mem_gpa, mem_gpa + mem_size) (mem is the host address of mem_gpa); more
 * only through hooks set with kq_pt_set_hooks. Returns 0, or -1 with an error. */
int kq_pt_init(struct kq_pt *pt, void *mem, uint64_t mem_gpa, uint64_t mem_size,
	       uint64_t alloc_start, uint64_t alloc_end);
void kq_pt_set_hooks(struct kq_pt *pt, kq_pt_grow_fn grow, kq_pt_dirty_fn dirty, void *ctx);
/* Identity-maps [gpa, gpa + size) writable with pages of page_size (4K, 2M, 1G);
 * gpa and size must be page-aligned; a page already mapped is an error. */
int kq_pt_map(struct kq_pt *pt, uint64_t gpa, uint64_t size, uint64_t page_size);
/* Removes the leaf entries of [gpa, gpa + size) (4K-aligned); pages not mapped
 * are skipped; a large page the range covers only in part is an error. Tables
 * are kept for reuse. The guest must flush its TLB (INVLPG) to see it. */
int kq_pt_unmap(struct kq_pt *pt, uint64_t gpa, uint64_t size);
/* Walks the tables like the MMU: 0 with *gpa and *page_size, -1 when not present. */
int kq_pt_walk(const struct kq_pt *pt, uint64_t gva, uint64_t *gpa, uint64_t *page_size);
/* Upper bound of table bytes needed to map size bytes with page_size pages. */
uint64_t kq_pt_bytes_needed(uint64_t size, uint64_t page_size);
/* Table bytes allocated so far, over all chunks. */
uint64_t kq_pt_bytes_used(const struct kq_pt *pt);

#endif
