/* Guest memory backing: each test chooses how its RAM is backed on the host. */
#ifndef KQ_VMM_MEMORY_H
#define KQ_VMM_MEMORY_H

#include <stdint.h>

enum kq_backing {
	KQ_BACK_ANON,
	KQ_BACK_THP,
	KQ_BACK_HUGETLB_2M,
	KQ_BACK_HUGETLB_1G,
	KQ_BACK_MEMFD
};

struct kq_mem {
	uint8_t *host; /* aligned start, as given to KVM */
	uint64_t size;
	enum kq_backing backing;
	void *map; /* what munmap needs */
	uint64_t map_size;
	int memfd; /* -1 unless memfd-backed */
};

/* Allocates size bytes (rounded up to the backing's page size). A missing
 * resource (no hugepages reserved) sets kq_err_is_unavailable(). */
int kq_mem_alloc(struct kq_mem *m, uint64_t size, enum kq_backing backing);
void kq_mem_free(struct kq_mem *m);
uint64_t kq_backing_page_size(enum kq_backing b);
const char *kq_backing_name(enum kq_backing b);
/* Parses "anon", "thp", "hugetlb-2m", "hugetlb-1g", "memfd"; -1 when unknown. */
int kq_backing_parse(const char *s);

#endif
