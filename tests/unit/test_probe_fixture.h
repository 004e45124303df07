/* Shared by the probe tests: where the recorded trees are, and a parameter
 * list for the conformance checks. */
#ifndef KQ_TESTS_PROBE_FIXTURE_H
#define KQ_TESTS_PROBE_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* tests/fixtures/probes/<name>, found from the current directory (the
 * repository root when run by `make check`), from KQ_FIXTURES, or next to
 * this source file. */
static inline const char *fixture(const char *name)
{
	static char buf[8][PATH_MAX];
	static int slot;
	char *out = buf[slot++ % 8];
	const char *env = getenv("KQ_FIXTURES");
	struct stat st;
	if (env) {
		snprintf(out, PATH_MAX, "%s/%s", env, name);
		return out;
	}
	snprintf(out, PATH_MAX, "tests/fixtures/probes/%s", name);
	if (stat("tests/fixtures/probes", &st) == 0)
		return out;
	char src[PATH_MAX / 2];
	snprintf(src, sizeof(src), "%s", __FILE__);
	char *slash = strrchr(src, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(src, sizeof(src), ".");
	if (snprintf(out, PATH_MAX, "%s/../fixtures/probes/%s", src, name) >= PATH_MAX)
		out[0] = '\0';
	return out;
}

/* NULL-terminated "key=value" strings as check parameters. */
static inline const char *kv_get(const void *ctx, const char *key)
{
	const char *const *kv = ctx;
	size_t kl = strlen(key);
	for (; kv && *kv; kv++)
		if (!strncmp(*kv, key, kl) && (*kv)[kl] == '=')
			return *kv + kl + 1;
	return NULL;
}

#endif
