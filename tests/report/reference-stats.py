#!/usr/bin/env python3
"""Independent computation of the values tests/unit/test_compare_stats.c
checks: plain Python, no numerics library, written from the definitions and
not from reports/inference.c. Run it to see where every expected number in
that test comes from.

- Mann-Whitney exact: every way of splitting the pooled values into groups
  of sizes na and nb is enumerated (itertools.combinations), U counted by
  pairwise comparison, the two-sided p is 2 * min(P(U <= u), P(U >= u)).
- Mann-Whitney normal: U by pairwise comparison (ties 1/2), variance with the
  tie correction, continuity correction 0.5, p = erfc(|z| / sqrt 2).
- xoshiro256** / splitmix64 from their published reference code.
- Bootstrap: resample indices with (x * n) >> 64, medians from sorted
  resamples, type-7 percentiles of the sorted differences.
"""
import itertools
import math

M64 = (1 << 64) - 1


def u_stat(a, b):
    u = 0.0
    for x in a:
        for y in b:
            u += 1.0 if x > y else 0.5 if x == y else 0.0
    return u


def mwu_exact(a, b):
    pooled = a + b
    u = u_stat(a, b)
    le = ge = total = 0
    for idx in itertools.combinations(range(len(pooled)), len(a)):
        ga = [pooled[i] for i in idx]
        gb = [pooled[i] for i in range(len(pooled)) if i not in idx]
        uu = u_stat(ga, gb)
        total += 1
        le += uu <= u
        ge += uu >= u
    return u, min(1.0, 2 * min(le / total, ge / total))


def mwu_normal(a, b):
    na, nb = len(a), len(b)
    n = na + nb
    u = u_stat(a, b)
    counts = {}
    for v in a + b:
        counts[v] = counts.get(v, 0) + 1
    tie = sum(t ** 3 - t for t in counts.values())
    var = na * nb / 12.0 * ((n + 1) - tie / (n * (n - 1)))
    z = max(0.0, (abs(u - na * nb / 2.0) - 0.5) / math.sqrt(var))
    return u, z, min(1.0, math.erfc(z / math.sqrt(2)))


class Rng:
    def __init__(self, seed):
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & M64
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
            self.s.append(z ^ (z >> 31))

    def next(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        return (self.next() * n) >> 64


def q7(s, p):
    n = len(s)
    h = (n - 1) * p
    lo = math.floor(h)
    if lo + 1 >= n:
        return s[-1]
    return s[lo] + (h - lo) * (s[lo + 1] - s[lo])


def bootstrap(a, b, reps, level, seed):
    sa, sb = sorted(a), sorted(b)
    rng = Rng(seed)
    diffs = []
    for _ in range(reps):
        ra = sorted(sa[rng.below(len(sa))] for _ in range(len(sa)))
        rb = sorted(sb[rng.below(len(sb))] for _ in range(len(sb)))
        diffs.append(q7(rb, 0.5) - q7(ra, 0.5))
    diffs.sort()
    return q7(diffs, (1 - level) / 2), q7(diffs, (1 + level) / 2)


# The data sets of tests/unit/test_compare_stats.c
EXACT_A = [1.1, 2.3, 3.0, 4.8]
EXACT_B = [2.0, 5.1, 6.2, 7.7, 8.0]
TIES_A = [10, 11, 11, 12, 12, 12, 13, 13, 14, 15, 10, 11, 12, 12, 13, 13, 13, 14, 16, 12]
TIES_B = [12, 13, 13, 14, 14, 15, 15, 15, 16, 17, 13, 14, 14, 15, 16, 16, 12, 13, 18, 14]
BOOT_A = [100.0, 102.0, 98.0, 101.0, 99.0, 103.0, 97.0, 100.5]
BOOT_B = [110.0, 108.0, 112.0, 109.0, 111.0, 107.5, 113.0, 110.5, 109.5]

if __name__ == "__main__":
    r = Rng(1)
    print("xoshiro256** seed 1, first outputs:", ["0x%016x" % r.next() for _ in range(4)])
    r = Rng(1)
    print("below(10) x 8, seed 1:", [r.below(10) for _ in range(8)])
    print("exact   U, p = %r, %.17g" % mwu_exact(EXACT_A, EXACT_B))
    print("exact   U, p (b, a) = %r, %.17g" % mwu_exact(EXACT_B, EXACT_A))
    print("normal  U, z, p = %r, %.17g, %.17g" % mwu_normal(TIES_A, TIES_B))
    lo, hi = bootstrap(BOOT_A, BOOT_B, 2000, 0.95, 1)
    print("bootstrap 95%% CI, 2000 resamples, seed 1: [%.17g, %.17g]" % (lo, hi))
    lo, hi = bootstrap(BOOT_A, BOOT_B, 2000, 0.95, 7)
    print("bootstrap 95%% CI, 2000 resamples, seed 7: [%.17g, %.17g]" % (lo, hi))
