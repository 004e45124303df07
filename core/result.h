/* One test's result, as built by a driver and recorded in results.json.
 * The in-memory model is a jansson object shaped as docs/results-schema.md
 * describes, so the runner can pass it from the forked test child to the
 * parent as text and every report reads exactly what was written. */
#ifndef KQ_CORE_RESULT_H
#define KQ_CORE_RESULT_H

#include <jansson.h>
#include <stddef.h>

enum kq_status { KQ_PASS, KQ_FAIL, KQ_SKIP };

struct kq_result {
	json_t *obj; /* {"name", "status", "reason", "metrics": [...], "values": {...}, ...} */
};

void kq_result_init(struct kq_result *r, const char *test_name);
void kq_result_free(struct kq_result *r);

/* The first FAIL wins over later PASS/SKIP; SKIP only replaces PASS. */
void kq_result_set_status(struct kq_result *r, enum kq_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
enum kq_status kq_result_status(const struct kq_result *r);
const char *kq_status_name(enum kq_status st);

/* Appends a line to the result's diagnostics (shown in TAP YAML). */
void kq_result_diag(struct kq_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A metric with samples: statistics are computed here. Returns the metric
 * object (borrowed) so callers may add fields such as "handled_in". */
json_t *kq_result_add_samples(struct kq_result *r, const char *name, const char *unit,
			      const double *samples, size_t n);
/* A single measured value (a ratio, a rate, a count). */
json_t *kq_result_add_value(struct kq_result *r, const char *name, const char *unit, double v);
/* Free-form evidence, stored under "evidence"[key]; steals the reference. */
void kq_result_set_evidence(struct kq_result *r, const char *key, json_t *value);

json_t *kq_result_find_metric(const struct kq_result *r, const char *name);

struct kq_stats;
json_t *kq_stats_json(const struct kq_stats *st);

#endif
