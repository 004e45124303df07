/* suite.conf: one INI section per test, parsed with inih. Every error names
 * file:line; a file with any error yields no tests, so nothing runs. */
#ifndef KQ_RUNNER_CONF_H
#define KQ_RUNNER_CONF_H

#include "core/parse.h"
#include "core/test.h"

/* The documented ranges of the generic keys (docs/suite-conf.md); `memory`
 * runs from one 4K page to KQ_TEST_MEMORY_MAX (core/steps_parse.h). */
#define KQ_TIME_LIMIT_MIN_S 0.1
#define KQ_TIME_LIMIT_MAX_S 86400.0 /* one day */
#define KQ_TIME_GOAL_MIN_S  0.001
#define KQ_TIME_GOAL_MAX_S  600.0
#define KQ_MEMORY_MIN	    4096
/* A suite file larger than this is no suite file (read bounded, /dev/zero included). */
#define KQ_CONF_MAX_BYTES (1 << 20)

struct kq_suite {
	char path[4096]; /* the file read: the given one, or where the default was found */
	struct kq_test *tests;
	int ntests;
	char errors[4096]; /* one "file:line: message" per line */
	int nerrors;
};

/* Returns 0 when the file parsed cleanly and declares at least one test; -1
 * with suite->errors otherwise. The default name (KQ_DEFAULT_CONF) is looked
 * up with kq_suite_find_file. */
int kq_suite_load(struct kq_suite *s, const char *path);
/* A bare file name: the current folder, else the binary's folder (from
 * /proc/self/exe), its parent, and its parent's share/kvmqual. 0 with the
 * path in out; -1 with the folders searched, comma-separated, in looked. */
int kq_suite_find_file(const char *name, char *out, size_t outlen, char *looked, size_t lookedlen);
/* Marks in sel (s->ntests entries) the tests named in tests[] and those in
 * any of groups[]; with neither, every test not marked `default = no`.
 * Returns how many are selected; -1 with one line per problem in err when a
 * name or group matches no test, or when nothing at all is selected. */
int kq_suite_select(const struct kq_suite *s, const char *const *tests, int ntests,
		    const char *const *groups, int ngroups, bool *sel, char *err, size_t errlen);
void kq_suite_free(struct kq_suite *s);
const struct kq_test *kq_suite_find(const struct kq_suite *s, const char *name);
bool kq_test_in_group(const struct kq_test *t, const char *group);

#endif
