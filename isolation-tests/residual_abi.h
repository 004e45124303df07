/* Residual-memory test: what the scanning guest writes into its table
 * (args[0]); the filling guest gets its tag in args[1]. Shared by the host
 * and the guest: fixed-width types only. */
#ifndef KQ_ISO_RESIDUAL_ABI_H
#define KQ_ISO_RESIDUAL_ABI_H

#include <stdint.h>

struct kq_residual_report {
	uint64_t bytes;		/* scanned (or filled) */
	uint64_t tag_words;	/* 64-bit words equal to the tag */
	uint64_t nonzero_words; /* words that are not zero (tag words included) */
	uint64_t first_tag_gpa;
	uint64_t first_nonzero_gpa;
	uint64_t first_nonzero_value;
	uint64_t finished; /* 1 when the guest got to the end */
};

#endif
