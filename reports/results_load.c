#include "reports/results_load.h"
#include "core/stats.h"
#include "core/strset.h"

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

static const char *want_name(char fmt)
{
	switch (fmt) {
	case 's':
		return "a string";
	case 'F':
		return "a number";
	case 'I':
		return "an integer";
	case 'b':
		return "a boolean";
	case 'o':
		return "an object";
	case 'a':
		return "an array";
	}
	return "?";
}

/* The unpack format letter of each key of a flat object format
 * ("{s:s, s?F, s?o}"): keys[i] gets the letter of the i-th value. */
static size_t fmt_letters(const char *fmt, char *letters, size_t max, int *pos)
{
	size_t n = 0;
	for (const char *f = fmt; *f && n < max; f++)
		if ((f[0] == ':' || f[0] == '?') && f[-1] == 's') {
			pos[n] = (int)(f + 1 - fmt);
			letters[n++] = f[1];
		}
	return n;
}

/* Checks obj against a flat json_unpack format whose keys are the const
 * char * arguments and whose values are pointers ('s': const char **,
 * 'F': double *, 'I': json_int_t *, 'b': int *, 'o': json_t **). jansson
 * does the checking; on failure the message names the field. An 'o' value
 * listed in want_obj or want_arr (by key) must also be an object or array. */
static int unpack(struct checker *c, json_t *obj, const char *fmt, ...)
{
	json_error_t je;
	va_list ap;
	if (c->failed)
		return -1;
	va_start(ap, fmt);
	int rc = json_vunpack_ex(obj, &je, 0, fmt, ap);
	va_end(ap);
	if (rc == 0)
		return 0;
	/* The key at or before the error's position in the format. */
	char letters[32];
	int pos[32];
	size_t n = fmt_letters(fmt, letters, 32, pos), k = 0;
	while (k + 1 < n && pos[k + 1] <= je.position)
		k++;
	const char *key = NULL;
	va_start(ap, fmt);
	for (size_t i = 0; i <= k && i < n; i++) {
		key = va_arg(ap, const char *);
		(void)va_arg(ap, void *);
	}
	va_end(ap);
	if (!key) {
		fail(c, "%s", je.text);
		return -1;
	}
	json_t *v = json_object_get(obj, key);
	size_t old = push_key(c, key);
	if (!v)
		fail(c, "required field is missing");
	else
		fail(c, "expected %s, got %s", want_name(letters[k]), type_name(v));
	pop(c, old);
	return -1;
}

/* An optional member that must be of one JSON type when present. */
static json_t *member(struct checker *c, json_t *obj, const char *key, json_type type,
		      const char *what)
{
	json_t *v = json_object_get(obj, key);
	if (v && json_typeof(v) != type && !c->failed) {
		size_t old = push_key(c, key);
		fail(c, "expected %s, got %s", what, type_name(v));
		pop(c, old);
		return NULL;
	}
	return v;
}

static void check_str_array(struct checker *c, json_t *obj, const char *key)
{
	json_t *a = member(c, obj, key, JSON_ARRAY, "an array");
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

static void check_enum(struct checker *c, const char *key, const char *v,
		       const char *const *allowed)
{
	for (const char *const *a = allowed; *a; a++)
		if (strcmp(v, *a) == 0)
			return;
	size_t old = push_key(c, key);
	fail(c, "unexpected value \"%s\"", v);
	pop(c, old);
}

static void check_nonneg(struct checker *c, const char *key, bool present, double v)
{
	if (present && v < 0) {
		size_t old = push_key(c, key);
		fail(c, "must not be negative");
		pop(c, old);
	}
}

/* Two doubles written by this tool (17 significant digits) read back
 * equal; a hand-edited file may round: allow a relative 1e-9. */
static bool agrees(double a, double b)
{
	if (a == b || (isnan(a) && isnan(b)))
		return true;
	return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Statistics and samples must tell the same story where both are given. */
static void check_stats_agree(struct checker *c, json_t *stats, json_t *samples)
{
	size_t n = json_array_size(samples), i;
	json_int_t sn = json_integer_value(json_object_get(stats, "n"));
	json_t *v;
	if ((json_int_t)n != sn) {
		size_t o = push_key(c, "stats");
		push_key(c, "n");
		fail(c, "%lld, but \"samples\" holds %zu values", (long long)sn, n);
		pop(c, o);
		return;
	}
	if (n == 0)
		return;
	double *d = malloc(n * sizeof(*d));
	struct kq_stats st;
	if (!d)
		return;
	json_array_foreach(samples, i, v) d[i] = json_number_value(v);
	int rc = kq_stats_compute(d, n, &st);
	free(d);
	if (rc != 0)
		return;
	const struct {
		const char *key;
		double want;
	} check[] = {{"min", st.min}, {"max", st.max}, {"median", st.median}};
	for (size_t k = 0; k < sizeof(check) / sizeof(check[0]); k++) {
		double got = json_number_value(json_object_get(stats, check[k].key));
		if (!agrees(got, check[k].want)) {
			size_t o = push_key(c, "stats");
			push_key(c, check[k].key);
			fail(c, "%.17g, but the samples give %.17g", got, check[k].want);
			pop(c, o);
			return;
		}
	}
}

static void check_metric(struct checker *c, json_t *m)
{
	const char *name, *unit;
	json_t *labels = NULL, *stats = NULL, *samples = NULL, *value = NULL, *v;
	const char *k;
	size_t i;

	if (unpack(c, m, "{s:s, s:s, s?o, s?o, s?o, s?o}", "name", &name, "unit", &unit, "labels",
		   &labels, "stats", &stats, "samples", &samples, "value", &value) < 0)
		return;
	labels = member(c, m, "labels", JSON_OBJECT, "an object");
	stats = member(c, m, "stats", JSON_OBJECT, "an object");
	samples = member(c, m, "samples", JSON_ARRAY, "an array");
	if (value && !json_is_number(value) && !c->failed) {
		size_t o = push_key(c, "value");
		fail(c, "expected a number, got %s", type_name(value));
		pop(c, o);
	}
	if (labels) {
		size_t o1 = push_key(c, "labels");
		json_object_foreach(labels, k, v)
		{
			if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
				size_t o2 = push_key(c, k);
				fail(c, "expected a string, number or boolean, got %s",
				     type_name(v));
				pop(c, o2);
			}
		}
		pop(c, o1);
	}
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
	if (!stats)
		return;
	json_int_t n;
	double x;
	size_t o1 = push_key(c, "stats");
	/* kq_stat_names: n, then the six statistics. */
	unpack(c, stats, "{s:I, s:F, s:F, s:F, s:F, s:F, s:F}", kq_stat_names[0], &n,
	       kq_stat_names[1], &x, kq_stat_names[2], &x, kq_stat_names[3], &x, kq_stat_names[4],
	       &x, kq_stat_names[5], &x, kq_stat_names[6], &x);
	if (!c->failed)
		check_nonneg(c, "n", true, (double)n);
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
	if (!c->failed)
		check_stats_agree(c, stats, samples);
}

static void check_test(struct checker *c, json_t *t)
{
	static const char *statuses[] = {"pass", "fail", "skip", NULL};
	const char *name, *status, *workload = NULL, *reason = NULL;
	double duration = 0;
	json_t *cfg = NULL, *metrics = NULL, *evidence = NULL, *verdict = NULL, *v;
	size_t i;

	if (unpack(c, t, "{s:s, s?s, s:s, s?s, s?F, s?o, s?o, s?o, s?o}", "name", &name, "workload",
		   &workload, "status", &status, "reason", &reason, "duration_s", &duration,
		   "config", &cfg, "metrics", &metrics, "evidence", &evidence, "verdict",
		   &verdict) < 0)
		return;
	if (!name[0]) {
		size_t o = push_key(c, "name");
		fail(c, "must not be empty");
		pop(c, o);
	}
	check_str_array(c, t, "groups");
	check_enum(c, "status", status, statuses);
	check_nonneg(c, "duration_s", json_object_get(t, "duration_s"), duration);
	cfg = member(c, t, "config", JSON_OBJECT, "an object");
	if (cfg) {
		json_int_t vcpus = 0, memory = 0;
		const char *backing, *page_size;
		json_t *params;
		size_t o = push_key(c, "config");
		if (unpack(c, cfg, "{s?I, s?I, s?s, s?s, s?o}", "vcpus", &vcpus, "memory", &memory,
			   "backing", &backing, "page_size", &page_size, "params", &params) == 0) {
			member(c, cfg, "params", JSON_OBJECT, "an object");
			check_nonneg(c, "vcpus", true, (double)vcpus);
			check_nonneg(c, "memory", true, (double)memory);
		}
		pop(c, o);
	}
	metrics = member(c, t, "metrics", JSON_ARRAY, "an array");
	if (metrics) {
		size_t o1 = push_key(c, "metrics");
		json_array_foreach(metrics, i, v)
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
	member(c, t, "evidence", JSON_OBJECT, "an object");
	check_str_array(c, t, "diagnostics");
	verdict = member(c, t, "verdict", JSON_ARRAY, "an array");
	if (verdict) {
		size_t o1 = push_key(c, "verdict");
		json_array_foreach(verdict, i, v)
		{
			const char *metric, *stat, *op;
			double limit;
			json_t *observed = NULL;
			int okv;
			size_t o2 = push_idx(c, i);
			if (!json_is_object(v))
				fail(c, "expected an object, got %s", type_name(v));
			else if (unpack(c, v, "{s:s, s?s, s?s, s?F, s?o, s:b}", "metric", &metric,
					"stat", &stat, "op", &op, "limit", &limit, "observed",
					&observed, "ok", &okv) == 0 &&
				 observed && !json_is_number(observed) && !json_is_null(observed)) {
				size_t o3 = push_key(c, "observed");
				fail(c, "expected a number or null, got %s", type_name(observed));
				pop(c, o3);
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

int kq_results_check_head(json_t *root, const char *what, char *err, size_t errlen)
{
	static const char *envs[] = {"emulated", "nested", "bare-metal", NULL};
	struct checker c = {.what = what, .err = err, .errlen = errlen};

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the document is %s, expected an object", what,
			 type_name(root));
		return -1;
	}
	const char *version;
	if (unpack(&c, root, "{s:s}", "schema_version", &version) < 0)
		return -1;
	long major, minor;
	if (parse_version(version, &major, &minor) != 0) {
		snprintf(err, errlen, "%s: schema_version: \"%s\" is not MAJOR.MINOR", what,
			 version);
		return -1;
	}
	if (major != KQ_RESULTS_SCHEMA_MAJOR) {
		snprintf(err, errlen,
			 "%s: schema_version \"%s\" is not supported: this kvmqual reads major "
			 "version %d only (it writes %s); %s",
			 what, version, KQ_RESULTS_SCHEMA_MAJOR, KQ_RESULTS_SCHEMA_VERSION,
			 major > KQ_RESULTS_SCHEMA_MAJOR ? "a newer kvmqual wrote this file"
							 : "an older kvmqual wrote this file");
		return -1;
	}
	json_t *tool, *run, *host, *tests, *summary = NULL;
	const char *environment;
	if (unpack(&c, root, "{s:o, s:o, s:s, s:o, s:o, s?o}", "tool", &tool, "run", &run,
		   "environment", &environment, "host", &host, "tests", &tests, "summary",
		   &summary) < 0)
		return -1;
	const char *str;
	json_t *obj;
	size_t o;
	if ((tool = member(&c, root, "tool", JSON_OBJECT, "an object"))) {
		o = push_key(&c, "tool");
		unpack(&c, tool, "{s:s, s:s}", "name", &str, "version", &str);
		pop(&c, o);
	}
	if ((run = member(&c, root, "run", JSON_OBJECT, "an object"))) {
		json_int_t repeat = 0, exit_code;
		int quick;
		o = push_key(&c, "run");
		unpack(&c, run, "{s:s, s:s, s?s, s?o, s?s, s?b, s?I, s?I}", "id", &str, "started",
		       &str, "finished", &str, "argv", &obj, "conf", &str, "quick", &quick,
		       "repeat", &repeat, "exit_code", &exit_code);
		check_str_array(&c, run, "argv");
		check_nonneg(&c, "repeat", true, (double)repeat);
		pop(&c, o);
	}
	if (!c.failed)
		check_enum(&c, "environment", environment, envs);
	if ((host = member(&c, root, "host", JSON_OBJECT, "an object"))) {
		json_t *kernel, *cpu;
		o = push_key(&c, "host");
		if (unpack(&c, host, "{s:s, s:o, s:o}", "hostname", &str, "kernel", &kernel, "cpu",
			   &cpu) == 0) {
			size_t o2 = push_key(&c, "kernel");
			if (member(&c, host, "kernel", JSON_OBJECT, "an object"))
				unpack(&c, kernel, "{s:s}", "release", &str);
			pop(&c, o2);
			o2 = push_key(&c, "cpu");
			if (member(&c, host, "cpu", JSON_OBJECT, "an object"))
				unpack(&c, cpu, "{s:s, s:s}", "vendor", &str, "brand", &str);
			pop(&c, o2);
		}
		pop(&c, o);
	}
	member(&c, root, "tests", JSON_ARRAY, "an array");
	return c.failed ? -1 : 0;
}

int kq_results_check_test(json_t *t, size_t i, struct kq_strset *seen, const char *what, char *err,
			  size_t errlen)
{
	struct checker c = {.what = what, .err = err, .errlen = errlen};
	push_key(&c, "tests");
	push_idx(&c, i);
	if (!json_is_object(t))
		fail(&c, "expected an object, got %s", type_name(t));
	else
		check_test(&c, t);
	if (c.failed)
		return -1;
	/* Test names are unique (the schema says so; compare pairs by name). */
	const char *name = json_string_value(json_object_get(t, "name"));
	bool added;
	struct kq_strset_ent *first = kq_strset_add(seen, name, i, &added);
	if (!first) {
		fail(&c, "out of memory");
	} else if (!added) {
		push_key(&c, "name");
		fail(&c, "duplicate test name \"%s\" (first at tests[%zu])", name, first->v);
	}
	return c.failed ? -1 : 0;
}

int kq_results_check_summary(json_t *root, const char *what, char *err, size_t errlen)
{
	struct checker c = {.what = what, .err = err, .errlen = errlen};
	json_t *summary = member(&c, root, "summary", JSON_OBJECT, "an object");
	if (summary) {
		json_int_t total, pass, failn, skip;
		push_key(&c, "summary");
		if (unpack(&c, summary, "{s:I, s:I, s:I, s:I}", "total", &total, "pass", &pass,
			   "fail", &failn, "skip", &skip) == 0) {
			check_nonneg(&c, "total", true, (double)total);
			check_nonneg(&c, "pass", true, (double)pass);
			check_nonneg(&c, "fail", true, (double)failn);
			check_nonneg(&c, "skip", true, (double)skip);
		}
	}
	return c.failed ? -1 : 0;
}

int kq_results_check(json_t *root, const char *what, char *err, size_t errlen)
{
	if (kq_results_check_head(root, what, err, errlen) != 0)
		return -1;
	struct kq_strset seen = {0};
	json_t *t;
	size_t i;
	int rc = 0;
	json_array_foreach(json_object_get(root, "tests"), i, t)
	{
		if ((rc = kq_results_check_test(t, i, &seen, what, err, errlen)) != 0)
			break;
	}
	kq_strset_free(&seen);
	return rc ? rc : kq_results_check_summary(root, what, err, errlen);
}

/* The offset of F's first NUL byte, with its line and column in *where, or
 * -1. jansson takes a NUL for the end of the text (it parsed '{"a": 1' NUL
 * '}' as a whole object), so the file is looked at apart: a fast pass, then
 * a byte-wise one to place a NUL it found. */
static long first_nul(FILE *f, json_error_t *where)
{
	char buf[65536];
	size_t n;
	long base = 0, nul = -1;
	if (fseek(f, 0, SEEK_SET) != 0)
		return -1;
	while (nul < 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0) {
		const char *z = memchr(buf, 0, n);
		if (z)
			nul = base + (z - buf);
		base += (long)n;
	}
	if (nul < 0 || fseek(f, 0, SEEK_SET) != 0)
		return -1;
	int line = 1, col = 0;
	for (long at = 0; at <= nul; at++) {
		col++;
		if (getc(f) == '\n') {
			line++;
			col = 0;
		}
	}
	where->line = line;
	where->column = col;
	return nul;
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
	json_error_t at;
	long nul = first_nul(f, &at);
	fclose(f);
	/* A NUL before jansson's own error (or in a file it took): that first. */
	if (nul >= 0 && (root || nul < jerr.position)) {
		snprintf(err, errlen, "%s:%d:%d: a NUL byte (byte %ld): not JSON text", path,
			 at.line, at.column, nul);
		json_decref(root);
		free(path);
		return -1;
	}
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

bool kq_metric_has_stats(const json_t *metric)
{
	return json_is_object(json_object_get(metric, "stats"));
}

bool kq_metric_has_value(const json_t *metric)
{
	return json_is_number(json_object_get(metric, "value"));
}
