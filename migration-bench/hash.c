/* XXH3 at the CPU's vector width (see hash.h): the baseline (SSE2) build
 * here, inlined, and the AVX2 one in hash_avx2.c where the CPU has AVX2. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "migration-bench/hash.h"

static int avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_cpu_supports("avx2");
#else
	return 0;
#endif
}

uint64_t kq_mig_xxh3(const void *p, size_t len)
{
	return avx2() ? kq_mig_xxh3_avx2(p, len) : XXH3_64bits(p, len);
}

struct kq_mig_xxh3 *kq_mig_xxh3_new(void)
{
	return (struct kq_mig_xxh3 *)(void *)XXH3_createState();
}

void kq_mig_xxh3_free(struct kq_mig_xxh3 *s)
{
	XXH3_freeState((XXH3_state_t *)(void *)s);
}

void kq_mig_xxh3_reset(struct kq_mig_xxh3 *s)
{
	XXH3_64bits_reset((XXH3_state_t *)(void *)s);
}

void kq_mig_xxh3_update(struct kq_mig_xxh3 *s, const void *p, size_t len)
{
	if (avx2())
		kq_mig_xxh3_update_avx2(s, p, len);
	else
		XXH3_64bits_update((XXH3_state_t *)(void *)s, p, len);
}

uint64_t kq_mig_xxh3_digest(const struct kq_mig_xxh3 *s)
{
	return avx2() ? kq_mig_xxh3_digest_avx2(s)
		      : XXH3_64bits_digest((const XXH3_state_t *)(const void *)s);
}
