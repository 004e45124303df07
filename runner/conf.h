/* suite.conf: one INI section per test, parsed with inih. Every error names
 * file:line; a file with any error yields no tests, so nothing runs. */
#ifndef KQ_RUNNER_CONF_H
#define KQ_RUNNER_CONF_H

#include "runner/test.h"

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

/* Value parsers shared with the CLI; 0 on success. */
int kq_parse_size(const char *s, uint64_t *out);     /* 64M, 1G, 4096, 2K */
int kq_parse_duration_s(const char *s, double *out); /* 10, 1.5s, 200ms, 50us */
int kq_parse_int(const char *s, int64_t *out);
int kq_parse_double(const char *s, double *out);
int kq_parse_yes_no(const char *s, bool *out);

#endif
