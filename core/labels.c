/* Metric labels: reading them as text or numbers, and formatting them. */
#include "core/labels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *kq_label(const json_t *metric, const char *key, char *buf, size_t len)
{
	json_t *v = json_object_get(json_object_get(metric, "labels"), key);
	if (!v)
		return NULL;
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else
		return NULL;
	return buf;
}

double kq_label_num(const json_t *metric, const char *key, double def)
{
	json_t *v = json_object_get(json_object_get(metric, "labels"), key);
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v)) {
		char *end;
		const char *s = json_string_value(v);
		double d = strtod(s, &end);
		if (end != s && !*end && isfinite(d))
			return d;
	}
	return def;
}

const char *const kq_measurement_labels[] = {"repeat", "batch_size", "iterations", NULL};

bool kq_is_measurement_label(const char *key)
{
	for (const char *const *l = kq_measurement_labels; *l; l++)
		if (strcmp(*l, key) == 0)
			return true;
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void kq_labels_fmt(struct kq_buf *b, const json_t *metric, const char *const *skip, const char *sep)
{
	json_t *labels = json_object_get(metric, "labels");
	size_t n = json_object_size(labels), k = 0;
	const char *key;
	json_t *v;
	char num[64];

	if (!n)
		return;
	const char **keys = malloc(n * sizeof(*keys));
	if (!keys) {
		b->failed = true;
		return;
	}
	json_object_foreach(labels, key, v)
	{
		bool skipped = false;
		for (const char *const *s = skip; s && *s; s++)
			if (strcmp(*s, key) == 0)
				skipped = true;
		if (!skipped)
			keys[k++] = key;
	}
	qsort(keys, k, sizeof(*keys), cmp_str);
	for (size_t i = 0; i < k; i++) {
		const char *val = kq_label(metric, keys[i], num, sizeof(num));
		kq_buf_printf(b, "%s%s=%s", i ? sep : "", keys[i], val ? val : "");
	}
	free(keys);
}
