#include "reports/tap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void kq_tap_header(FILE *f, int ntests)
{
	/* Version 13: Debian's prove (Test::Harness 3.44) rejects a version 14 header. */
	fprintf(f, "TAP version 13\n1..%d\n", ntests);
	fflush(f);
}

void kq_yaml_scalar(FILE *f, const json_t *v)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(10));
	fputs(s ? s : "null", f);
	free(s);
}

/* TAP descriptions end at '#' (directive) and a newline ends the line. */
static void description(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '#' || *s == '\n' ? '_' : *s, f);
}

static void metric_line(FILE *f, const json_t *m)
{
	fprintf(f, "    %s: {unit: ", json_string_value(json_object_get(m, "name")));
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
		json_array_foreach((json_t *)metrics, i, m) metric_line(f, m);
	}
	const json_t *verdict = json_object_get(t, "verdict");
	if (json_array_size(verdict)) {
		fputs("  verdict:\n", f);
		size_t i;
		json_t *v;
		json_array_foreach((json_t *)verdict, i, v)
		{
			fputs("    - ", f);
			kq_yaml_scalar(f, v);
			fputc('\n', f);
		}
	}
	const json_t *ev = json_object_get(t, "evidence");
	if (json_object_size(ev)) {
		fputs("  evidence: ", f);
		kq_yaml_scalar(f, ev);
		fputc('\n', f);
	}
	const json_t *diag = json_object_get(t, "diagnostics");
	if (json_array_size(diag)) {
		fputs("  diagnostics:\n", f);
		size_t i;
		json_t *d;
		json_array_foreach((json_t *)diag, i, d)
		{
			fputs("    - ", f);
			kq_yaml_scalar(f, d);
			fputc('\n', f);
		}
	}
	fputs("  ...\n", f);
	fflush(f);
}
