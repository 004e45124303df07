/* suite.conf: one INI section per test, parsed with inih. Every error names
 * file:line; a file with any error yields no tests, so nothing runs. */
#ifndef KQ_RUNNER_CONF_H
#define KQ_RUNNER_CONF_H

#include "core/parse.h"
#include "core/test.h"

struct kq_suite {
	struct kq_test *tests;
	int ntests;
	char errors[4096]; /* one "file:line: message" per line */
	int nerrors;
};

/* Returns 0 when the file parsed cleanly; -1 with suite->errors otherwise. */
int kq_suite_load(struct kq_suite *s, const char *path);
void kq_suite_free(struct kq_suite *s);
const struct kq_test *kq_suite_find(const struct kq_suite *s, const char *name);
bool kq_test_in_group(const struct kq_test *t, const char *group);

#endif
