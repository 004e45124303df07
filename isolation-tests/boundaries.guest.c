/* Guest side of the memslot-boundary test: one access per probe, of exactly
 * the probe's width, in table order; the host sees each MMIO exit and knows
 * which probe caused it from `current`. */
#include "guest/guest.h"
#include "isolation-tests/boundaries_abi.h"

static uint64_t access(const struct kq_bnd_probe *p)
{
	uintptr_t a = (uintptr_t)p->gva;
	switch (p->len * 2 + p->write) {
	case 2:
		return *(volatile uint8_t *)a;
	case 3:
		*(volatile uint8_t *)a = (uint8_t)p->value;
		return 0;
	case 4:
		return *(volatile uint16_t *)a;
	case 5:
		*(volatile uint16_t *)a = (uint16_t)p->value;
		return 0;
	case 8:
		return *(volatile uint32_t *)a;
	case 9:
		*(volatile uint32_t *)a = (uint32_t)p->value;
		return 0;
	case 16:
		return *(volatile uint64_t *)a;
	case 17:
		*(volatile uint64_t *)a = p->value;
		return 0;
	}
	KQ_GUEST_ASSERT(!"probe length is 1, 2, 4 or 8");
	return 0;
}

static void boundaries(struct kq_params *params)
{
	volatile struct kq_bnd_table *t = (void *)(uintptr_t)params->args[0];
	KQ_GUEST_ASSERT(t->nprobes <= KQ_BND_MAX);
	for (uint64_t i = 0; i < t->nprobes; i++) {
		t->current = i;
		struct kq_bnd_probe p = t->p[i];
		uint64_t v = access(&p);
		if (!p.write)
			t->p[i].value = v;
	}
	t->current = ~0ULL;
	t->finished = 1;
}
KQ_GUEST_WORKLOAD("iso.boundaries", boundaries);
