/* XXH3 compiled for AVX2 (see hash.h): xxhash's own code, inlined, in a
 * file whose every function is built for AVX2; hash.c calls it only where
 * the CPU has AVX2. */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2"))), apply_to = function)
#else
#pragma GCC target("avx2")
#endif
#include <immintrin.h> /* xxhash.h includes it only when the compiler targets AVX2 */
#define XXH_VECTOR 2   /* XXH_AVX2 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "migration-bench/hash.h"

uint64_t kq_mig_xxh3_avx2(const void *p, size_t len)
{
	return XXH3_64bits(p, len);
}

void kq_mig_xxh3_update_avx2(struct kq_mig_xxh3 *s, const void *p, size_t len)
{
	XXH3_64bits_update((XXH3_state_t *)(void *)s, p, len);
}

uint64_t kq_mig_xxh3_digest_avx2(const struct kq_mig_xxh3 *s)
{
	return XXH3_64bits_digest((const XXH3_state_t *)(const void *)s);
}

#if defined(__clang__)
#pragma clang attribute pop
#endif
