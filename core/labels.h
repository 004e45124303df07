/* Metric labels (results.json "labels"): what a metric measured (kind,
 * vcpu, handled_in) and how (repeat, batch_size, iterations). */
#ifndef KQ_CORE_LABELS_H
#define KQ_CORE_LABELS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/strbuf.h"

/* Metric labels. Values may be strings, numbers or booleans in the file;
 * kq_label() renders any of them into buf (returns NULL when absent). */
const char *kq_label(const json_t *metric, const char *key, char *buf, size_t len);
/* A numeric label (vcpus, vcpu, repeat): def when absent or not a number. */
double kq_label_num(const json_t *metric, const char *key, double def);

/* Labels that say how a value was measured rather than what was measured
 * (repeat, batch_size, iterations): left out of a metric's identity, so
 * repeats pool and an adaptive batch size does not make a new metric. */
extern const char *const kq_measurement_labels[];
bool kq_is_measurement_label(const char *key);

/* Labels as "k=v, k=v" sorted by key, leaving out the keys in skip
 * (NULL-terminated, may be NULL). */
void kq_labels_fmt(struct kq_buf *b, const json_t *metric, const char *const *skip,
		   const char *sep);

#endif
