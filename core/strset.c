#include "core/strset.h"

#include <stdlib.h>
#include <string.h>

uint64_t kq_hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct kq_strset_ent *slot_of(const struct kq_strset_ent *slots, size_t nslots,
				     const char *s)
{
	size_t h = kq_hash_str(s) & (nslots - 1);
	while (slots[h].s && strcmp(slots[h].s, s) != 0)
		h = (h + 1) & (nslots - 1);
	return (struct kq_strset_ent *)&slots[h];
}

static int grow(struct kq_strset *set)
{
	size_t nslots = set->nslots ? set->nslots * 2 : 64;
	struct kq_strset_ent *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < set->nslots; i++)
		if (set->slots[i].s)
			*slot_of(slots, nslots, set->slots[i].s) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->nslots = nslots;
	return 0;
}

struct kq_strset_ent *kq_strset_get(const struct kq_strset *set, const char *s)
{
	if (!set->nslots)
		return NULL;
	struct kq_strset_ent *e = slot_of(set->slots, set->nslots, s);
	return e->s ? e : NULL;
}

struct kq_strset_ent *kq_strset_add(struct kq_strset *set, const char *s, size_t v, bool *added)
{
	*added = false;
	struct kq_strset_ent *e = kq_strset_get(set, s);
	if (e)
		return e;
	/* at most half full: short probe runs */
	if ((set->n + 1) * 2 > set->nslots && grow(set) != 0)
		return NULL;
	e = slot_of(set->slots, set->nslots, s);
	e->s = strdup(s);
	if (!e->s)
		return NULL;
	e->v = v;
	set->n++;
	*added = true;
	return e;
}

const char *kq_strset_intern(struct kq_strset *set, const char *s)
{
	bool added;
	struct kq_strset_ent *e = kq_strset_add(set, s, 0, &added);
	return e ? e->s : NULL;
}

void kq_strset_free(struct kq_strset *set)
{
	for (size_t i = 0; i < set->nslots; i++)
		free(set->slots[i].s);
	free(set->slots);
	memset(set, 0, sizeof(*set));
}
