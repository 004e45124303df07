/* A set of strings, each with a number (open addressing, FNV-1a): the
 * results readers' duplicate test names and the interned names of compare.
 * The set owns copies of its strings; their addresses stay put while the set
 * grows (only the slots move). */
#ifndef KQ_CORE_STRSET_H
#define KQ_CORE_STRSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kq_strset_ent {
	char *s; /* NULL: an empty slot */
	size_t v;
};

struct kq_strset {
	struct kq_strset_ent *slots;
	size_t n, nslots;
};

uint64_t kq_hash_str(const char *s);

/* S's entry, adding it with value V when absent (*added then true).
 * The entry is valid until the next add; NULL: out of memory. */
struct kq_strset_ent *kq_strset_add(struct kq_strset *set, const char *s, size_t v, bool *added);
/* S's entry, or NULL. */
struct kq_strset_ent *kq_strset_get(const struct kq_strset *set, const char *s);
/* The set's own copy of S (added when absent), or NULL: out of memory. */
const char *kq_strset_intern(struct kq_strset *set, const char *s);
void kq_strset_free(struct kq_strset *set);

#endif
