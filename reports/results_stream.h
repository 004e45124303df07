/* Reading results.json one test at a time, for commands that need only what
 * the tests add up to (compare): a 100,000-test file is 243 MB of text and
 * about 2.2 GB as one jansson document, but each test alone is small. The
 * top-level object is scanned here; every value in it, each test included,
 * is parsed by jansson (json_loadb with JSON_DISABLE_EOF_CHECK) and checked
 * with results_load.h's checks, in the order and with the messages of
 * kq_results_load. */
#ifndef KQ_REPORTS_RESULTS_STREAM_H
#define KQ_REPORTS_RESULTS_STREAM_H

#include <jansson.h>
#include <stddef.h>

/* Gets each test once it is parsed and checked (borrowed: freed after the
 * call). Returns 0, or -1 to stop with a message in err. */
typedef int (*kq_results_test_fn)(void *ctx, size_t index, json_t *test, char *err, size_t errlen);

/* Reads PATH_OR_DIR (a results.json or a folder holding one) as
 * kq_results_load would, handing the tests to FN in order. On success *head
 * holds the document with an empty "tests" and 0 is returned. On failure -1
 * with kq_results_load's message (a syntax error is looked up by reading the
 * file again whole, for jansson's own message and line:column); FN may have
 * had some tests by then. */
int kq_results_stream(const char *path_or_dir, json_t **head, kq_results_test_fn fn, void *ctx,
		      char *err, size_t errlen);

#endif
