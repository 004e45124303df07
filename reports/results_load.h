/* Reading results.json (docs/results-schema.md) back for reports, compare
 * and exports. Readers accept any 1.x file (minor versions only add fields)
 * and refuse other major versions. The shape is checked with jansson's
 * json_unpack (types, required fields), then what a schema cannot say:
 * statistics that agree with their samples, unique test names. Unknown
 * fields are accepted: minor versions add them (so no JSON_STRICT). */
#ifndef KQ_REPORTS_RESULTS_LOAD_H
#define KQ_REPORTS_RESULTS_LOAD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/labels.h"

#define KQ_RESULTS_SCHEMA_MAJOR	  1
#define KQ_RESULTS_SCHEMA_VERSION "1.0"

/* Loads PATH_OR_DIR (a results.json, or a folder holding one) and checks its
 * shape. On success *out holds a new reference and 0 is returned. On failure
 * returns -1 with a message naming the file and either the JSON position
 * (line:column) or the field path (tests[2].metrics[0].unit). */
int kq_results_load(const char *path_or_dir, json_t **out, char *err, size_t errlen);

/* The same shape check on an already parsed document; `what` names it in messages. */
int kq_results_check(json_t *root, const char *what, char *err, size_t errlen);

/* The same check in three parts, for a reader that sees the tests one at a
 * time (results_stream.h): the document without its tests (of "tests" only
 * the type is looked at), each test by its index, then the summary. In that
 * order they are kq_results_check, messages included. SEEN holds the names
 * of the tests before (a name is added, its index the value). */
struct kq_strset;
int kq_results_check_head(json_t *root, const char *what, char *err, size_t errlen);
int kq_results_check_test(json_t *test, size_t index, struct kq_strset *seen, const char *what,
			  char *err, size_t errlen);
int kq_results_check_summary(json_t *root, const char *what, char *err, size_t errlen);

/* Resolves PATH_OR_DIR to the results.json path (malloc'd). */
char *kq_results_path(const char *path_or_dir);

/* Accessors that tolerate missing fields (documents written by older 1.x writers). */
const char *kq_jstr(const json_t *obj, const char *key, const char *def);
double kq_jnum(const json_t *obj, const char *key, double def);
/* A dotted path through objects: kq_jpath_str(host, "cpu.brand", "?"). */
const char *kq_jpath_str(const json_t *obj, const char *path, const char *def);

/* Where the exit was handled: labels.handled_in, or a top-level "handled_in"
 * on the metric; "" when neither. */
const char *kq_metric_handled_in(const json_t *metric);

/* True when the metric carries stats (and normally samples). */
bool kq_metric_has_stats(const json_t *metric);
bool kq_metric_has_value(const json_t *metric);

#endif
