/* Guest side of the concurrent-tenants test: pass after pass over all of its
 * memory at full speed, each word checked against what the previous pass
 * wrote there (zero before the first) and then overwritten, until the time
 * is up (two passes at least, so every word is verified once). */
#include "guest/guest.h"
#include "isolation-tests/tenants_abi.h"

static void tenant(struct kq_params *p)
{
	struct kq_tenant_report *r = (void *)(uintptr_t)p->args[0];
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)p->test_gpa;
	uint32_t tag = (uint32_t)p->args[1];
	uint64_t words = p->test_size / 8, per_page = 4096 / 8, t0 = kq_rdtsc_begin();
	memset(r, 0, sizeof(*r));
	for (uint64_t pass = 1;; pass++) {
		for (uint64_t i = 0; i < words; i++) {
			uint64_t want = kq_tenant_word(tag, pass - 1, i), v = w[i];
			if (v != want && !r->mismatches++) {
				r->first_bad_gpa = p->test_gpa + i * 8;
				r->first_bad_value = v;
				r->first_bad_expected = want;
			}
			w[i] = kq_tenant_word(tag, pass, i);
			if ((i + 1) % per_page == 0)
				r->pages_written++;
		}
		r->passes = pass;
		if (pass >= 2 && kq_rdtsc_begin() - t0 >= p->args[2])
			break;
	}
	r->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.tenant", tenant);
