/* Memslot-boundary test: the probe table the host writes at args[0] and the
 * guest executes in order. Fixed-width types only (host and guest). */
#ifndef KQ_ISO_BOUNDARIES_ABI_H
#define KQ_ISO_BOUNDARIES_ABI_H

#include <stdint.h>

#define KQ_BND_MAX 96

struct kq_bnd_probe {
	uint64_t gva;	/* where the guest accesses (identity, or remapped near the top) */
	uint64_t value; /* written; or, for a read, what the guest read */
	uint32_t len;	/* 1, 2, 4 or 8 bytes, one instruction */
	uint32_t write;
};

struct kq_bnd_table {
	uint64_t nprobes;
	uint64_t current; /* the probe in progress: the host's MMIO handler reads it */
	uint64_t finished;
	uint64_t pad;
	struct kq_bnd_probe p[KQ_BND_MAX];
};

#endif
