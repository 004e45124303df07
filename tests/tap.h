/* Minimal TAP producer for the project's own test programs (read by prove). */
#ifndef KQ_TESTS_TAP_H
#define KQ_TESTS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_n, tap_failed;

static inline void tap_vok(int cond, const char *fmt, va_list ap)
{
	printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
}

static inline int ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vok(cond, fmt, ap);
	va_end(ap);
	return cond;
}

#define is_int(got, want, ...)                                                                     \
	do {                                                                                       \
		long long g_ = (long long)(got), w_ = (long long)(want);                           \
		if (!ok(g_ == w_, __VA_ARGS__))                                                    \
			printf("#   got %lld, want %lld\n", g_, w_);                               \
	} while (0)

#define is_str(got, want, ...)                                                                     \
	do {                                                                                       \
		const char *g_ = (got), *w_ = (want);                                              \
		if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))                             \
			printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)",                    \
			       w_ ? w_ : "(null)");                                                \
	} while (0)

#define is_near(got, want, tol, ...)                                                               \
	do {                                                                                       \
		double g_ = (got), w_ = (want);                                                    \
		if (!ok(fabs(g_ - w_) <= (tol), __VA_ARGS__))                                      \
			printf("#   got %.9g, want %.9g (tol %g)\n", g_, w_, (double)(tol));       \
	} while (0)

#define has_substr(hay, needle, ...)                                                               \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!ok(h_ && strstr(h_, n_) != NULL, __VA_ARGS__))                                \
			printf("#   '%s' not found in '%s'\n", n_, h_ ? h_ : "(null)");            \
	} while (0)

static inline void tap_skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
}

/* Tests that read tests/fixtures run from the source tree: true when PROBE
 * (a fixture) is readable there, after a chdir to $KQ_SRCDIR if need be;
 * otherwise the plan says why they are skipped. */
static inline bool tap_in_srcdir(const char *probe)
{
	const char *src = getenv("KQ_SRCDIR");
	if (access(probe, R_OK) == 0 || (src && chdir(src) == 0 && access(probe, R_OK) == 0))
		return true;
	tap_skip_all("run from the source tree (or set KQ_SRCDIR) to find the fixtures");
	return false;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
