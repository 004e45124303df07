/* kq_mig_xxh3 (hash.c): the AVX2 build and the baseline give XXH3_64bits'
 * own values, in one piece and piecewise, at every length around the
 * algorithm's internal block sizes. */
#include "migration-bench/hash.h"
#include "tests/tap.h"

#include <stdlib.h>
#include <xxhash.h>

int main(void)
{
	size_t n = 3 * 4096 + 77;
	uint8_t *b = malloc(n);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 131 + (i >> 7));
	int avx2 = __builtin_cpu_supports("avx2");
	int bad = 0, bad_avx2 = 0, bad_pieces = 0;
	struct kq_mig_xxh3 *s = kq_mig_xxh3_new();
	for (size_t len = 0; len <= n; len += len < 300 ? 1 : 61) {
		uint64_t want = XXH3_64bits(b, len);
		bad += kq_mig_xxh3(b, len) != want;
		bad_avx2 += avx2 && kq_mig_xxh3_avx2(b, len) != want;
		kq_mig_xxh3_reset(s); /* three uneven pieces */
		kq_mig_xxh3_update(s, b, len / 3);
		kq_mig_xxh3_update(s, b + len / 3, len / 2 - len / 3);
		kq_mig_xxh3_update(s, b + len / 2, len - len / 2);
		bad_pieces += kq_mig_xxh3_digest(s) != want;
	}
	is_int(bad, 0, "kq_mig_xxh3 equals XXH3_64bits at every length");
	is_int(bad_avx2, 0, "the AVX2 build equals it too (%s)",
	       avx2 ? "this CPU has AVX2" : "not run: no AVX2 here");
	is_int(bad_pieces, 0, "piecewise equals one piece");
	kq_mig_xxh3_free(s);
	free(b);
	return done_testing();
}
