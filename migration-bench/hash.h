/* XXH3-64 for the stream's checksums and page hashes at the vector width
 * this CPU offers: the distribution's libxxhash is built for SSE2 (about
 * 15 GB/s on a 4K page here, 18 through its dispatch), the same code
 * inlined for AVX2 about 43 GB/s. The values are XXH3_64bits' own. */
#ifndef KQ_MIG_HASH_H
#define KQ_MIG_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t kq_mig_xxh3(const void *p, size_t len);

/* Piecewise: the same value as kq_mig_xxh3 over the pieces' concatenation. */
struct kq_mig_xxh3;
struct kq_mig_xxh3 *kq_mig_xxh3_new(void); /* NULL when out of memory */
void kq_mig_xxh3_free(struct kq_mig_xxh3 *s);
void kq_mig_xxh3_reset(struct kq_mig_xxh3 *s);
void kq_mig_xxh3_update(struct kq_mig_xxh3 *s, const void *p, size_t len);
uint64_t kq_mig_xxh3_digest(const struct kq_mig_xxh3 *s);

/* The AVX2 build of the same (hash_avx2.c); call only where the CPU has it. */
uint64_t kq_mig_xxh3_avx2(const void *p, size_t len);
void kq_mig_xxh3_update_avx2(struct kq_mig_xxh3 *s, const void *p, size_t len);
uint64_t kq_mig_xxh3_digest_avx2(const struct kq_mig_xxh3 *s);

#endif
