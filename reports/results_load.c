#include "reports/results_load.h"
#include "core/stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *kq_results_path(const char *path_or_dir)
{
	struct stat st;
	size_t n = strlen(path_or_dir);
	char *p;

	if (stat(path_or_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		p = malloc(n + sizeof("/results.json"));
		if (p) {
			memcpy(p, path_or_dir, n);
			while (n > 1 && p[n - 1] == '/')
				n--;
			strcpy(p + n, "/results.json");
		}
		return p;
	}
	return strdup(path_or_dir);
}

/* ---- shape check ------------------------------------------------------- */

struct checker {
	const char *what;
	char path[512];
	char *err;
	size_t errlen;
	bool failed;
};

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

static void fail(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct checker *c, const char *fmt, ...)
{
	va_list ap;
	char msg[256];

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->what, c->path[0] ? c->path : "(top level)",
		 msg);
}

/* Pushes ".key" or "[i]" on the path; returns the old length to pop back to. */
static size_t push_key(struct checker *c, const char *key)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old ? "." : "", key);
	return old;
}

static size_t push_idx(struct checker *c, size_t i)
{
	size_t old = strlen(c->path);
	snprintf(c->path + old, sizeof(c->path) - old, "[%zu]", i);
	return old;
}

static void pop(struct checker *c, size_t old)
{
	c->path[old] = '\0';
}

enum want { W_OBJ, W_ARR, W_STR, W_NUM, W_INT, W_BOOL, W_NUM_OR_NULL, W_SCALAR };

static bool is_want(const json_t *v, enum want w)
{
	switch (w) {
	case W_OBJ:
		return json_is_object(v);
	case W_ARR:
		return json_is_array(v);
	case W_STR:
		return json_is_string(v);
	case W_NUM:
		return json_is_number(v);
	case W_INT:
		return json_is_integer(v);
	case W_BOOL:
		return json_is_boolean(v);
	case W_NUM_OR_NULL:
		return json_is_number(v) || json_is_null(v);
	case W_SCALAR:
		return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
	}
	return false;
}

static const char *want_name(enum want w)
{
	static const char *names[] = {
	    "an object",  "an array",  "a string",	   "a number",
	    "an integer", "a boolean", "a number or null", "a string, number or boolean"};
	return names[w];
}

/* Checks obj[key]: returns it when present and of the wanted type, NULL
 * otherwise (reporting a missing required field or a wrong type). */
static json_t *field(struct checker *c, const json_t *obj, const char *key, enum want w,
		     bool required)
{
	json_t *v = json_object_get(obj, key);
	size_t old = push_key(c, key);
	if (!v) {
		if (required)
			fail(c, "required field is missing");
		pop(c, old);
		return NULL;
	}
	if (!is_want(v, w)) {
		fail(c, "expected %s, got %s", want_name(w), type_name(v));
		pop(c, old);
		return NULL;
	}
	pop(c, old);
	return v;
}

static void check_str_array(struct checker *c, const json_t *obj, const char *key, bool required)
{
	json_t *a = field(c, obj, key, W_ARR, required);
	size_t i;
	json_t *v;
	if (!a)
		return;
	size_t o1 = push_key(c, key);
	json_array_foreach(a, i, v)
	{
		size_t o2 = push_idx(c, i);
		if (!json_is_string(v))
			fail(c, "expected a string, got %s", type_name(v));
		pop(c, o2);
	}
	pop(c, o1);
}

static void check_enum(struct checker *c, const json_t *obj, const char *key,
		       const char *const *allowed, bool required)
{
	json_t *v = field(c, obj, key, W_STR, required);
	if (!v)
		return;
	for (const char *const *a = allowed; *a; a++)
		if (strcmp(json_string_value(v), *a) == 0)
			return;
	size_t old = push_key(c, key);
	fail(c, "unexpected value \"%s\"", json_string_value(v));
	pop(c, old);
}

static void check_nonneg(struct checker *c, const json_t *obj, const char *key, enum want w,
			 bool required)
{
	json_t *v = field(c, obj, key, w, required);
	if (v && json_number_value(v) < 0) {
		size_t old = push_key(c, key);
		fail(c, "must not be negative");
		pop(c, old);
	}
}

static void check_metric(struct checker *c, const json_t *m)
{
	json_t *labels, *stats, *samples;
	const char *k;
	json_t *v;
	size_t i;

	field(c, m, "name", W_STR, true);
	field(c, m, "unit", W_STR, true);
	labels = field(c, m, "labels", W_OBJ, false);
	if (labels) {
		size_t o1 = push_key(c, "labels");
		json_object_foreach(labels, k, v)
		{
			field(c, labels, k, W_SCALAR, true);
		}
		pop(c, o1);
	}
	stats = field(c, m, "stats", W_OBJ, false);
	samples = field(c, m, "samples", W_ARR, false);
	json_t *value = field(c, m, "value", W_NUM, false);
	if (c->failed)
		return;
	if (value && (stats || samples)) {
		fail(c, "a metric has either \"value\" or \"stats\" and \"samples\", not both");
		return;
	}
	if (!value && !stats) {
		fail(c, "a metric needs \"value\", or \"stats\" and \"samples\"");
		return;
	}
	if (stats && !samples) {
		size_t o = push_key(c, "samples");
		fail(c, "required field is missing (\"stats\" comes with \"samples\")");
		pop(c, o);
		return;
	}
	if (samples && !stats) {
		size_t o = push_key(c, "stats");
		fail(c, "required field is missing (\"samples\" come with \"stats\")");
		pop(c, o);
		return;
	}
	if (stats) {
		size_t o1 = push_key(c, "stats");
		check_nonneg(c, stats, "n", W_INT, true);
		for (const char *const *s = kq_stat_names + 1; *s; s++)
			field(c, stats, *s, W_NUM, true);
		pop(c, o1);
		o1 = push_key(c, "samples");
		json_array_foreach(samples, i, v)
		{
			if (!json_is_number(v)) {
				size_t o2 = push_idx(c, i);
				fail(c, "expected a number, got %s", type_name(v));
				pop(c, o2);
				break;
			}
		}
		pop(c, o1);
	}
}

static void check_test(struct checker *c, const json_t *t)
{
	static const char *statuses[] = {"pass", "fail", "skip", NULL};
	json_t *name = field(c, t, "name", W_STR, true);
	json_t *a, *v;
	size_t i;

	if (name && !json_string_value(name)[0]) {
		size_t o = push_key(c, "name");
		fail(c, "must not be empty");
		pop(c, o);
	}
	field(c, t, "workload", W_STR, false);
	check_str_array(c, t, "groups", false);
	check_enum(c, t, "status", statuses, true);
	field(c, t, "reason", W_STR, false);
	check_nonneg(c, t, "duration_s", W_NUM, false);
	json_t *cfg = field(c, t, "config", W_OBJ, false);
	if (cfg) {
		size_t o = push_key(c, "config");
		check_nonneg(c, cfg, "vcpus", W_INT, false);
		check_nonneg(c, cfg, "memory", W_INT, false);
		field(c, cfg, "backing", W_STR, false);
		field(c, cfg, "page_size", W_STR, false);
		field(c, cfg, "params", W_OBJ, false);
		pop(c, o);
	}
	a = field(c, t, "metrics", W_ARR, false);
	if (a) {
		size_t o1 = push_key(c, "metrics");
		json_array_foreach(a, i, v)
		{
			size_t o2 = push_idx(c, i);
			if (!json_is_object(v))
				fail(c, "expected an object, got %s", type_name(v));
			else
				check_metric(c, v);
			pop(c, o2);
			if (c->failed)
				break;
		}
		pop(c, o1);
	}
	field(c, t, "evidence", W_OBJ, false);
	check_str_array(c, t, "diagnostics", false);
	a = field(c, t, "verdict", W_ARR, false);
	if (a) {
		size_t o1 = push_key(c, "verdict");
		json_array_foreach(a, i, v)
		{
			size_t o2 = push_idx(c, i);
			if (!json_is_object(v)) {
				fail(c, "expected an object, got %s", type_name(v));
			} else {
				field(c, v, "metric", W_STR, true);
				field(c, v, "stat", W_STR, false);
				field(c, v, "op", W_STR, false);
				field(c, v, "limit", W_NUM, false);
				field(c, v, "observed", W_NUM_OR_NULL, false);
				field(c, v, "ok", W_BOOL, true);
			}
			pop(c, o2);
		}
		pop(c, o1);
	}
}

static int parse_version(const char *s, long *major, long *minor)
{
	char *end;
	errno = 0;
	*major = strtol(s, &end, 10);
	if (end == s || *end != '.' || errno)
		return -1;
	const char *m = end + 1;
	*minor = strtol(m, &end, 10);
	if (end == m || *end || errno || *major < 0 || *minor < 0)
		return -1;
	if (s[0] == '-' || s[0] == '+' || m[0] == '-' || m[0] == '+')
		return -1;
	return 0;
}

int kq_results_check(json_t *root, const char *what, char *err, size_t errlen)
{
	static const char *envs[] = {"emulated", "nested", "bare-metal", NULL};
	struct checker c = {.what = what, .err = err, .errlen = errlen};
	json_t *v, *t;
	size_t i;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the document is %s, expected an object", what,
			 type_name(root));
		return -1;
	}
	v = field(&c, root, "schema_version", W_STR, true);
	if (c.failed)
		return -1;
	long major, minor;
	if (parse_version(json_string_value(v), &major, &minor) != 0) {
		snprintf(err, errlen, "%s: schema_version: \"%s\" is not MAJOR.MINOR", what,
			 json_string_value(v));
		return -1;
	}
	if (major != KQ_RESULTS_SCHEMA_MAJOR) {
		snprintf(err, errlen,
			 "%s: schema_version \"%s\" is not supported: this kvmqual reads major "
			 "version %d only (it writes %s); %s",
			 what, json_string_value(v), KQ_RESULTS_SCHEMA_MAJOR,
			 KQ_RESULTS_SCHEMA_VERSION,
			 major > KQ_RESULTS_SCHEMA_MAJOR ? "a newer kvmqual wrote this file"
							 : "an older kvmqual wrote this file");
		return -1;
	}
	v = field(&c, root, "tool", W_OBJ, true);
	if (v) {
		size_t o = push_key(&c, "tool");
		field(&c, v, "name", W_STR, true);
		field(&c, v, "version", W_STR, true);
		pop(&c, o);
	}
	v = field(&c, root, "run", W_OBJ, true);
	if (v) {
		size_t o = push_key(&c, "run");
		field(&c, v, "id", W_STR, true);
		field(&c, v, "started", W_STR, true);
		field(&c, v, "finished", W_STR, false);
		check_str_array(&c, v, "argv", false);
		field(&c, v, "conf", W_STR, false);
		field(&c, v, "quick", W_BOOL, false);
		check_nonneg(&c, v, "repeat", W_INT, false);
		field(&c, v, "exit_code", W_INT, false);
		pop(&c, o);
	}
	check_enum(&c, root, "environment", envs, true);
	v = field(&c, root, "host", W_OBJ, true);
	if (v) {
		size_t o = push_key(&c, "host");
		field(&c, v, "hostname", W_STR, true);
		json_t *k = field(&c, v, "kernel", W_OBJ, true);
		if (k) {
			size_t o2 = push_key(&c, "kernel");
			field(&c, k, "release", W_STR, true);
			pop(&c, o2);
		}
		json_t *cpu = field(&c, v, "cpu", W_OBJ, true);
		if (cpu) {
			size_t o2 = push_key(&c, "cpu");
			field(&c, cpu, "vendor", W_STR, true);
			field(&c, cpu, "brand", W_STR, true);
			pop(&c, o2);
		}
		pop(&c, o);
	}
	v = field(&c, root, "tests", W_ARR, true);
	if (v) {
		size_t o1 = push_key(&c, "tests");
		json_array_foreach(v, i, t)
		{
			size_t o2 = push_idx(&c, i);
			if (!json_is_object(t))
				fail(&c, "expected an object, got %s", type_name(t));
			else
				check_test(&c, t);
			pop(&c, o2);
			if (c.failed)
				break;
		}
		pop(&c, o1);
	}
	v = field(&c, root, "summary", W_OBJ, false);
	if (v) {
		size_t o = push_key(&c, "summary");
		check_nonneg(&c, v, "total", W_INT, true);
		check_nonneg(&c, v, "pass", W_INT, true);
		check_nonneg(&c, v, "fail", W_INT, true);
		check_nonneg(&c, v, "skip", W_INT, true);
		pop(&c, o);
	}
	return c.failed ? -1 : 0;
}

int kq_results_load(const char *path_or_dir, json_t **out, char *err, size_t errlen)
{
	json_error_t jerr;
	char *path = kq_results_path(path_or_dir);
	json_t *root;

	*out = NULL;
	if (!path) {
		snprintf(err, errlen, "%s: out of memory", path_or_dir);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		free(path);
		return -1;
	}
	if (kq_results_check(root, path, err, errlen) != 0) {
		json_decref(root);
		free(path);
		return -1;
	}
	free(path);
	*out = root;
	return 0;
}

/* ---- accessors ---------------------------------------------------------- */

const char *kq_jstr(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : def;
}

double kq_jnum(const json_t *obj, const char *key, double def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_number(v) ? json_number_value(v) : def;
}

const char *kq_jpath_str(const json_t *obj, const char *path, const char *def)
{
	char key[128];
	const json_t *cur = obj;
	const char *p = path;

	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(key))
			return def;
		memcpy(key, p, n);
		key[n] = '\0';
		cur = json_object_get(cur, key);
		p = dot ? dot + 1 : p + n;
	}
	const char *s = json_string_value(cur);
	return s ? s : def;
}

const char *kq_metric_handled_in(const json_t *metric)
{
	const char *s =
	    json_string_value(json_object_get(json_object_get(metric, "labels"), "handled_in"));
	if (!s)
		s = json_string_value(json_object_get(metric, "handled_in"));
	return s ? s : "";
}

int kq_metric_samples(const json_t *metric, double **out, size_t *n)
{
	json_t *a = json_object_get(metric, "samples");
	size_t cnt = json_array_size(a), i, k = 0;
	json_t *v;

	*out = NULL;
	*n = 0;
	if (!cnt)
		return 0;
	double *d = malloc(cnt * sizeof(*d));
	if (!d)
		return -1;
	json_array_foreach(a, i, v)
	{
		if (json_is_number(v))
			d[k++] = json_number_value(v);
	}
	*out = d;
	*n = k;
	return 0;
}

bool kq_metric_has_stats(const json_t *metric)
{
	return json_is_object(json_object_get(metric, "stats"));
}

bool kq_metric_has_value(const json_t *metric)
{
	return json_is_number(json_object_get(metric, "value"));
}
