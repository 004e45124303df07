/* Concurrent-tenants test: the word pattern every tenant writes and the
 * report its guest leaves in the table (args[0]). args[1]: the tenant's
 * 32-bit tag, args[2]: how long to run, in TSC cycles. Host and guest. */
#ifndef KQ_ISO_TENANTS_ABI_H
#define KQ_ISO_TENANTS_ABI_H

#include <stdint.h>

/* Word i of the tenant's memory after pass `pass` (pass 0: all zero). */
static inline uint64_t kq_tenant_word(uint32_t tag, uint64_t pass, uint64_t i)
{
	if (!pass)
		return 0;
	return (uint64_t)tag << 32 | (pass & 0xff) << 24 | (i & 0xffffff);
}

struct kq_tenant_report {
	uint64_t passes;
	uint64_t pages_written;
	uint64_t mismatches; /* words that did not hold what this tenant wrote last */
	uint64_t first_bad_gpa;
	uint64_t first_bad_value;
	uint64_t first_bad_expected;
	uint64_t finished;
};

#endif
