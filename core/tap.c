#include "core/tap.h"
#include "core/labels.h"
#include "core/strbuf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void kq_tap_header(FILE *f, int ntests)
{
	/* Version 13: Debian's prove (Test::Harness 3.44) rejects a version 14 header. */
	fprintf(f, "TAP version 13\n1..%d\n", ntests);
	fflush(f);
}

/* A double-quoted YAML string that TAP::Parser's YAMLish reader also reads
 * back exactly: it knows only \\ \" \t \n \r \xHH escapes, and it takes
 * "- word: ..." in a list for a mapping, so ": " is written ":\x20". */
static void yaml_string_in(FILE *f, const char *s, bool in_list)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else if (in_list && c == ':' && s[1] == ' ')
			fputs(":\\x20", f), s++;
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void yaml_string(FILE *f, const char *s)
{
	yaml_string_in(f, s, false);
}

void kq_yaml_scalar(FILE *f, const json_t *v)
{
	if (json_is_string(v)) {
		yaml_string(f, json_string_value(v));
		return;
	}
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputs(s ? s : "null", f);
	free(s);
}

static void yaml_key(FILE *f, const char *k)
{
	bool plain = isalpha((unsigned char)k[0]);
	for (const char *p = k; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || strchr("_.-", *p);
	if (plain)
		fputs(k, f);
	else
		yaml_string(f, k);
}

/* Block-style YAML for nested evidence, verdicts and diagnostics. */
static void yaml_block(FILE *f, const json_t *v, int indent)
{
	const char *key;
	json_t *x;
	size_t i;
	if (json_is_object(v) && json_object_size(v)) {
		json_object_foreach((json_t *)v, key, x)
		{
			fprintf(f, "\n%*s", indent, "");
			yaml_key(f, key);
			fputs(":", f);
			if ((json_is_object(x) && json_object_size(x)) ||
			    (json_is_array(x) && json_array_size(x))) {
				yaml_block(f, x, indent + 2);
			} else {
				fputc(' ', f);
				kq_yaml_scalar(f, x); /* a scalar, or an empty {} or [] */
			}
		}
	} else if (json_is_array(v) && json_array_size(v)) {
		json_array_foreach((json_t *)v, i, x)
		{
			fprintf(f, "\n%*s-", indent, "");
			if ((json_is_object(x) && json_object_size(x)) ||
			    (json_is_array(x) && json_array_size(x))) {
				yaml_block(f, x, indent + 2);
			} else if (json_is_string(x)) {
				fputc(' ', f);
				yaml_string_in(f, json_string_value(x), true);
			} else {
				fputc(' ', f);
				kq_yaml_scalar(f, x);
			}
		}
	} else {
		fputc(' ', f);
		kq_yaml_scalar(f, v);
	}
}

/* TAP descriptions end at '#' (directive) and a newline ends the line. */
static void description(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '#' || *s == '\n' ? '_' : *s, f);
}

/* Labels every metric of one name shares, or that say how it was measured:
 * no help in telling two metrics of that name apart. */
static const char *const not_distinguishing[] = {"kind",       "handled_in", "better", "repeat",
						 "batch_size", "iterations", NULL};

/* YAML keys must be unique: a metric whose name repeats in the test (scaling
 * runs one name per vCPU count) gets its other labels appended, sorted by key,
 * e.g. "cpuid.ns[vcpu=1,vcpus=2]". */
static void metric_key(FILE *f, const json_t *metrics, const json_t *m)
{
	const char *name = json_string_value(json_object_get(m, "name"));
	size_t i, same = 0;
	json_t *x;
	json_array_foreach((json_t *)metrics, i, x) same +=
	    strcmp(json_string_value(json_object_get(x, "name")), name) == 0;
	if (same < 2) {
		yaml_key(f, name);
		return;
	}
	struct kq_buf key = KQ_BUF_INIT;
	kq_buf_printf(&key, "%s[", name);
	kq_labels_fmt(&key, m, not_distinguishing, ",");
	kq_buf_putc(&key, ']');
	yaml_string(f, key.failed ? name : kq_buf_str(&key));
	kq_buf_free(&key);
}

static void metric_line(FILE *f, const json_t *metrics, const json_t *m)
{
	fputs("    ", f);
	metric_key(f, metrics, m);
	fputs(": {unit: ", f);
	kq_yaml_scalar(f, json_object_get(m, "unit"));
	const json_t *st = json_object_get(m, "stats");
	if (st) {
		static const char *const keys[] = {"n", "min", "median", "mean", "p99", "stddev"};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			fprintf(f, ", %s: ", keys[i]);
			kq_yaml_scalar(f, json_object_get(st, keys[i]));
		}
	} else {
		fputs(", value: ", f);
		kq_yaml_scalar(f, json_object_get(m, "value"));
	}
	const char *key;
	json_t *lv;
	json_object_foreach((json_t *)json_object_get(m, "labels"), key, lv)
	{
		fprintf(f, ", %s: ", key);
		kq_yaml_scalar(f, lv);
	}
	fputs("}\n", f);
}

void kq_tap_result(FILE *f, int number, const json_t *t)
{
	const char *name = json_string_value(json_object_get(t, "name"));
	const char *status = json_string_value(json_object_get(t, "status"));
	const char *reason = json_string_value(json_object_get(t, "reason"));
	bool pass = status && strcmp(status, "fail") != 0;
	fprintf(f, "%s %d - ", pass ? "ok" : "not ok", number);
	description(f, name ? name : "?");
	if (status && strcmp(status, "skip") == 0) {
		fputs(" # SKIP ", f);
		description(f, reason && reason[0] ? reason : "no reason given");
	}
	fputs("\n  ---\n  status: ", f);
	kq_yaml_scalar(f, json_object_get(t, "status"));
	if (reason && reason[0]) {
		fputs("\n  message: ", f);
		kq_yaml_scalar(f, json_object_get(t, "reason"));
	}
	fputs("\n  duration_s: ", f);
	kq_yaml_scalar(f, json_object_get(t, "duration_s"));
	fputc('\n', f);
	const json_t *metrics = json_object_get(t, "metrics");
	if (json_array_size(metrics)) {
		fputs("  metrics:\n", f);
		size_t i;
		json_t *m;
		json_array_foreach((json_t *)metrics, i, m) metric_line(f, metrics, m);
	}
	static const char *const blocks[] = {"verdict", "repeats", "evidence", "diagnostics"};
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		const json_t *v = json_object_get(t, blocks[b]);
		if (json_object_size(v) || json_array_size(v)) {
			fprintf(f, "  %s:", blocks[b]);
			yaml_block(f, v, 4);
			fputc('\n', f);
		}
	}
	fputs("  ...\n", f);
	fflush(f);
}
