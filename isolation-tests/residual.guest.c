/* Guest side of the residual-memory test: VM A fills its whole test region
 * with a tag; VM B, created afterwards in another process, reads every word
 * of its own and reports any tag or any non-zero word. */
#include "guest/guest.h"
#include "isolation-tests/residual_abi.h"

static void residual_fill(struct kq_params *p)
{
	struct kq_residual_report *r = (void *)(uintptr_t)p->args[0];
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)p->test_gpa;
	uint64_t tag = p->args[1], n = p->test_size / 8;
	for (uint64_t i = 0; i < n; i++)
		w[i] = tag;
	r->bytes = p->test_size;
	r->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.residual-fill", residual_fill);

static void residual_scan(struct kq_params *p)
{
	struct kq_residual_report *r = (void *)(uintptr_t)p->args[0];
	const volatile uint64_t *w = (const volatile uint64_t *)(uintptr_t)p->test_gpa;
	uint64_t tag = p->args[1], n = p->test_size / 8;
	uint64_t tags = 0, nonzero = 0;
	r->first_tag_gpa = r->first_nonzero_gpa = ~0ULL;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t v = w[i];
		if (!v)
			continue;
		if (!nonzero++) {
			r->first_nonzero_gpa = p->test_gpa + i * 8;
			r->first_nonzero_value = v;
		}
		if (v == tag && !tags++)
			r->first_tag_gpa = p->test_gpa + i * 8;
	}
	r->bytes = n * 8;
	r->tag_words = tags;
	r->nonzero_words = nonzero;
	r->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.residual-scan", residual_scan);
