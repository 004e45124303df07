#include "core/result.h"
#include "core/stats.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"pass", "fail", "skip"};

const char *kq_status_name(enum kq_status st)
{
	return status_names[st];
}

void kq_result_init(struct kq_result *r, const char *test_name)
{
	r->obj = json_pack("{s:s, s:s, s:s, s:[], s:{}, s:[]}", "name", test_name, "status", "pass",
			   "reason", "", "metrics", "evidence", "diagnostics");
	if (!r->obj) {
		fprintf(stderr, "kvmqual: out of memory building a result\n");
		abort();
	}
}

void kq_result_free(struct kq_result *r)
{
	json_decref(r->obj);
	r->obj = NULL;
}

enum kq_status kq_result_status(const struct kq_result *r)
{
	const char *s = json_string_value(json_object_get(r->obj, "status"));
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, status_names[i]) == 0)
			return (enum kq_status)i;
	return KQ_FAIL;
}

void kq_result_set_status(struct kq_result *r, enum kq_status st, const char *fmt, ...)
{
	enum kq_status cur = kq_result_status(r);
	if (cur == KQ_FAIL && st != KQ_FAIL)
		return;
	if (cur == KQ_SKIP && st == KQ_PASS)
		return;
	/* A second failure keeps the first reason and is kept as a diagnostic. */
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cur == KQ_FAIL) {
		kq_result_diag(r, "also: %s", buf);
		return;
	}
	json_object_set_new(r->obj, "status", json_string(status_names[st]));
	json_object_set_new(r->obj, "reason", json_string(buf));
}

void kq_result_diag(struct kq_result *r, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(r->obj, "diagnostics"), json_string(buf));
}

/* Keys in kq_stat_names' order (tests/unit/test_stats.c holds them to it). */
json_t *kq_stats_json(const struct kq_stats *st)
{
	return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "n", (json_int_t)st->n, "min",
			 st->min, "max", st->max, "median", st->median, "mean", st->mean, "p99",
			 st->p99, "stddev", st->stddev);
}

static json_t *metric_new(struct kq_result *r, const char *name, const char *unit)
{
	json_t *m = json_pack("{s:s, s:s, s:{}}", "name", name, "unit", unit, "labels");
	json_array_append_new(json_object_get(r->obj, "metrics"), m);
	return m;
}

json_t *kq_result_add_samples(struct kq_result *r, const char *name, const char *unit,
			      const double *samples, size_t n)
{
	struct kq_stats st;
	if (kq_stats_compute(samples, n, &st) != 0) {
		fprintf(stderr, "kvmqual: out of memory computing statistics\n");
		abort();
	}
	json_t *m = metric_new(r, name, unit);
	json_object_set_new(m, "stats", kq_stats_json(&st));
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_real(samples[i]));
	json_object_set_new(m, "samples", arr);
	return m;
}

json_t *kq_result_add_value(struct kq_result *r, const char *name, const char *unit, double v)
{
	json_t *m = metric_new(r, name, unit);
	json_object_set_new(m, "value", json_real(v));
	return m;
}

void kq_result_set_evidence(struct kq_result *r, const char *key, json_t *value)
{
	json_object_set_new(json_object_get(r->obj, "evidence"), key, value);
}

json_t *kq_result_find_metric(const struct kq_result *r, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(r->obj, "metrics"), i, m)
	{
		const char *n = json_string_value(json_object_get(m, "name"));
		if (n && strcmp(n, name) == 0)
			return m;
	}
	return NULL;
}
