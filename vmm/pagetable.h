/* Host-built x86-64 4-level identity page tables. The tables live in guest
 * memory (the system slot); the builder writes them through a host pointer. */
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

struct kq_pt {
	uint8_t *mem; /* host address of guest-physical mem_gpa */
	uint64_t mem_gpa;
	uint64_t mem_size;
	uint64_t next;	/* next free table (guest-physical) */
	uint64_t limit; /* end of the table area (guest-physical) */
	uint64_t pml4;	/* CR3 */
};

/* Tables are allocated from [alloc_start, alloc_end), which must lie inside
 * [mem_gpa, mem_gpa + mem_size). Returns 0, or -1 with an error set. */
int kq_pt_init(struct kq_pt *pt, void *mem, uint64_t mem_gpa, uint64_t mem_size,
	       uint64_t alloc_start, uint64_t alloc_end);
/* Identity-maps [gpa, gpa + size) writable with pages of page_size (4K, 2M, 1G);
 * gpa and size must be page-aligned. */
int kq_pt_map(struct kq_pt *pt, uint64_t gpa, uint64_t size, uint64_t page_size);
/* Walks the tables like the MMU: 0 with *gpa and *page_size, -1 when not present. */
int kq_pt_walk(const struct kq_pt *pt, uint64_t gva, uint64_t *gpa, uint64_t *page_size);
/* Upper bound of table bytes needed to map size bytes with page_size pages. */
uint64_t kq_pt_bytes_needed(uint64_t size, uint64_t page_size);

#endif
