#include "reports/export.h"

#include <math.h>
#include <string.h>

#include "core/stats.h"
#include "reports/results_load.h"

const char *kq_test_suite(const json_t *test)
{
	const char *g = json_string_value(json_array_get(json_object_get(test, "groups"), 0));
	return g && *g ? g : "ungrouped";
}

/* Suites in order of first appearance: an array of group names. */
static json_t *suites_of(const json_t *tests)
{
	json_t *order = json_array(), *seen = json_object(), *t;
	size_t i;
	json_array_foreach(tests, i, t)
	{
		const char *s = kq_test_suite(t);
		if (!json_object_get(seen, s)) {
			json_object_set_new(seen, s, json_true());
			json_array_append_new(order, json_string(s));
		}
	}
	json_decref(seen);
	return order;
}

static void metric_line(struct kq_buf *b, const json_t *m)
{
	kq_buf_puts(b, kq_jstr(m, "name", "?"));
	struct kq_buf l = KQ_BUF_INIT;
	kq_labels_fmt(&l, m, NULL, ",");
	if (l.len)
		kq_buf_printf(b, "{%s}", kq_buf_str(&l));
	kq_buf_free(&l);
	if (kq_metric_has_stats(m)) {
		json_t *s = json_object_get(m, "stats");
		kq_buf_printf(b, ": n=%lld median=", (long long)kq_jnum(s, "n", 0));
		kq_buf_num(b, kq_jnum(s, "median", NAN));
		kq_buf_puts(b, " p99=");
		kq_buf_num(b, kq_jnum(s, "p99", NAN));
		kq_buf_puts(b, " mean=");
		kq_buf_num(b, kq_jnum(s, "mean", NAN));
		kq_buf_puts(b, " stddev=");
		kq_buf_num(b, kq_jnum(s, "stddev", NAN));
	} else {
		kq_buf_puts(b, ": value=");
		kq_buf_num(b, kq_jnum(m, "value", NAN));
	}
	kq_buf_printf(b, " %s", kq_jstr(m, "unit", ""));
}

static void failed_checks(struct kq_buf *b, const json_t *test)
{
	json_t *vs = json_object_get(test, "verdict"), *v;
	size_t i;
	json_array_foreach(vs, i, v)
	{
		if (json_is_true(json_object_get(v, "ok")))
			continue;
		kq_buf_printf(b, "check failed: %s %s %s ", kq_jstr(v, "metric", "?"),
			      kq_jstr(v, "stat", "value"), kq_jstr(v, "op", "?"));
		kq_buf_num(b, kq_jnum(v, "limit", NAN));
		kq_buf_puts(b, ", observed ");
		json_t *o = json_object_get(v, "observed");
		if (json_is_number(o))
			kq_buf_num(b, json_number_value(o));
		else
			kq_buf_puts(b, "nothing");
		kq_buf_putc(b, '\n');
	}
}

static void seconds(struct kq_buf *b, double s)
{
	kq_buf_printf(b, "%.3f", isfinite(s) && s > 0 ? s : 0.0);
}

/* ---- JUnit --------------------------------------------------------------- */

static void junit_property(struct kq_buf *b, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	kq_buf_puts(b, "      <property name=\"");
	kq_buf_xml(b, name);
	kq_buf_puts(b, "\" value=\"");
	kq_buf_xml(b, value);
	kq_buf_puts(b, "\"/>\n");
}

/* JUnit timestamps carry no zone: "2026-11-26T16:00:00Z" -> "2026-11-26T16:00:00". */
static void junit_timestamp(struct kq_buf *b, const char *iso)
{
	size_t n = strlen(iso);
	if (n >= 19 && iso[4] == '-' && iso[10] == 'T')
		kq_buf_putn(b, iso, 19);
	else
		kq_buf_puts(b, "1970-01-01T00:00:00");
}

void kq_export_junit(const struct kq_run *r, struct kq_buf *out)
{
	json_t *tests = json_object_get(r->root, "tests"), *t;
	json_t *suites = suites_of(tests), *sv;
	size_t i, si;
	size_t all = 0, all_fail = 0, all_skip = 0;
	double all_time = 0;

	json_array_foreach(tests, i, t)
	{
		all++;
		all_fail += strcmp(kq_jstr(t, "status", ""), "fail") == 0;
		all_skip += strcmp(kq_jstr(t, "status", ""), "skip") == 0;
		all_time += fmax(0, kq_jnum(t, "duration_s", 0));
	}
	kq_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"kvmqual ");
	kq_buf_xml(out, r->run_id);
	kq_buf_printf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"",
		      all, all_fail, all_skip);
	seconds(out, all_time);
	kq_buf_puts(out, "\">\n");

	json_array_foreach(suites, si, sv)
	{
		const char *suite = json_string_value(sv);
		size_t n = 0, nf = 0, ns = 0;
		double time = 0;
		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_test_suite(t), suite) != 0)
				continue;
			n++;
			nf += strcmp(kq_jstr(t, "status", ""), "fail") == 0;
			ns += strcmp(kq_jstr(t, "status", ""), "skip") == 0;
			time += fmax(0, kq_jnum(t, "duration_s", 0));
		}
		kq_buf_puts(out, "  <testsuite name=\"");
		kq_buf_xml(out, suite);
		kq_buf_printf(out,
			      "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
			      "time=\"",
			      n, nf, ns);
		seconds(out, time);
		kq_buf_puts(out, "\" timestamp=\"");
		junit_timestamp(out, kq_jpath_str(r->root, "run.started", ""));
		kq_buf_puts(out, "\" hostname=\"");
		kq_buf_xml(out, r->hostname);
		kq_buf_printf(out, "\" id=\"%zu\" package=\"kvmqual\">\n    <properties>\n", si);
		junit_property(out, "environment", r->env);
		junit_property(out, "run.id", r->run_id);
		junit_property(out, "kernel.release", r->kernel);
		junit_property(out, "cpu.vendor",
			       kq_jpath_str(json_object_get(r->root, "host"), "cpu.vendor", ""));
		junit_property(out, "cpu.brand", r->cpu_brand);
		junit_property(out, "kvmqual.version", kq_jpath_str(r->root, "tool.version", ""));
		kq_buf_puts(out, "    </properties>\n");

		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_test_suite(t), suite) != 0)
				continue;
			const char *st = kq_jstr(t, "status", "");
			kq_buf_puts(out, "    <testcase name=\"");
			kq_buf_xml(out, kq_jstr(t, "name", "?"));
			kq_buf_puts(out, "\" classname=\"kvmqual.");
			kq_buf_xml(out, suite);
			kq_buf_puts(out, "\" time=\"");
			seconds(out, kq_jnum(t, "duration_s", 0));
			kq_buf_puts(out, "\">\n");
			const char *reason = kq_jstr(t, "reason", "");
			if (strcmp(st, "skip") == 0) {
				kq_buf_puts(out, "      <skipped message=\"");
				kq_buf_xml(out, *reason ? reason : "skipped");
				kq_buf_puts(out, "\"/>\n");
			} else if (strcmp(st, "fail") == 0) {
				struct kq_buf body = KQ_BUF_INIT;
				failed_checks(&body, t);
				json_t *diag = json_object_get(t, "diagnostics"), *d;
				size_t j;
				json_array_foreach(diag, j, d)
				{
					kq_buf_puts(&body, json_string_value(d));
					kq_buf_putc(&body, '\n');
				}
				bool checks = false;
				json_t *vs = json_object_get(t, "verdict"), *v;
				json_array_foreach(vs, j, v) checks |=
				    !json_is_true(json_object_get(v, "ok"));
				kq_buf_puts(out, "      <failure message=\"");
				kq_buf_xml(out, *reason ? reason : "failed");
				kq_buf_printf(out, "\" type=\"%s\">",
					      checks ? "threshold" : "test");
				kq_buf_xml(out, kq_buf_str(&body));
				kq_buf_puts(out, "</failure>\n");
				kq_buf_free(&body);
			}
			json_t *ms = json_object_get(t, "metrics"), *m;
			size_t j;
			if (json_array_size(ms)) {
				struct kq_buf so = KQ_BUF_INIT;
				json_array_foreach(ms, j, m)
				{
					metric_line(&so, m);
					kq_buf_putc(&so, '\n');
				}
				kq_buf_puts(out, "      <system-out>");
				kq_buf_xml(out, kq_buf_str(&so));
				kq_buf_puts(out, "</system-out>\n");
				kq_buf_free(&so);
			}
			kq_buf_puts(out, "    </testcase>\n");
		}
		kq_buf_puts(out, "  </testsuite>\n");
	}
	kq_buf_puts(out, "</testsuites>\n");
	json_decref(suites);
}

/* ---- KTAP ---------------------------------------------------------------- */

/* Names and directive text: no '#' (it would start a directive) and no line breaks. */
static void ktap_text(struct kq_buf *b, const char *s)
{
	for (; s && *s; s++)
		kq_buf_putc(b, *s == '#' ? '_' : (*s == '\n' || *s == '\r') ? ' ' : *s);
}

static void ktap_comment(struct kq_buf *b, const char *indent, const char *text)
{
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		kq_buf_printf(b, "%s# %.*s\n", indent, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

void kq_export_ktap(const struct kq_run *r, struct kq_buf *out)
{
	json_t *tests = json_object_get(r->root, "tests"), *t;
	json_t *suites = suites_of(tests), *sv;
	size_t i, si;

	kq_buf_puts(out, "KTAP version 1\n");
	kq_buf_printf(out, "# kvmqual %s run %s on %s (%s)\n",
		      kq_jpath_str(r->root, "tool.version", "?"), r->run_id, r->hostname, r->env);
	kq_buf_printf(out, "1..%zu\n", json_array_size(suites));
	json_array_foreach(suites, si, sv)
	{
		const char *suite = json_string_value(sv);
		size_t n = 0, nf = 0, ns = 0, k = 0;
		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_test_suite(t), suite) == 0) {
				n++;
				nf += strcmp(kq_jstr(t, "status", ""), "fail") == 0;
				ns += strcmp(kq_jstr(t, "status", ""), "skip") == 0;
			}
		}
		kq_buf_puts(out, "    KTAP version 1\n    # Subtest: ");
		ktap_text(out, suite);
		kq_buf_printf(out, "\n    1..%zu\n", n);
		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_test_suite(t), suite) != 0)
				continue;
			const char *st = kq_jstr(t, "status", "");
			const char *reason = kq_jstr(t, "reason", "");
			k++;
			if (strcmp(st, "fail") == 0) {
				struct kq_buf d = KQ_BUF_INIT;
				if (*reason)
					kq_buf_printf(&d, "%s\n", reason);
				failed_checks(&d, t);
				json_t *diag = json_object_get(t, "diagnostics"), *dv;
				size_t j;
				json_array_foreach(diag, j, dv)
				{
					kq_buf_puts(&d, json_string_value(dv));
					kq_buf_putc(&d, '\n');
				}
				ktap_comment(out, "    ", kq_buf_str(&d));
				kq_buf_free(&d);
			}
			kq_buf_printf(out, "    %s %zu ", strcmp(st, "fail") == 0 ? "not ok" : "ok",
				      k);
			ktap_text(out, kq_jstr(t, "name", "?"));
			if (strcmp(st, "skip") == 0) {
				kq_buf_puts(out, " # SKIP ");
				ktap_text(out, *reason ? reason : "skipped");
			}
			kq_buf_putc(out, '\n');
		}
		kq_buf_printf(out, "# %s: pass:%zu fail:%zu skip:%zu total:%zu\n", suite,
			      n - nf - ns, nf, ns, n);
		kq_buf_printf(out, "%s %zu ", nf ? "not ok" : "ok", si + 1);
		ktap_text(out, suite);
		if (n && ns == n)
			kq_buf_puts(out, " # SKIP every test skipped");
		kq_buf_putc(out, '\n');
	}
	json_decref(suites);
}

/* ---- CSV ----------------------------------------------------------------- */

static void csv_num(struct kq_buf *b, const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	kq_buf_putc(b, ',');
	if (json_is_number(v))
		kq_buf_num(b, json_number_value(v));
}

void kq_export_csv(const struct kq_run *r, struct kq_buf *out)
{
	json_t *tests = json_object_get(r->root, "tests"), *t;
	size_t i;
	kq_buf_puts(out,
		    "run_id,environment,hostname,test,groups,status,metric,unit,labels,n,min,max,"
		    "median,mean,p99,stddev,value\r\n");
	json_array_foreach(tests, i, t)
	{
		json_t *ms = json_object_get(t, "metrics"), *m;
		size_t j;
		json_array_foreach(ms, j, m)
		{
			kq_buf_csv(out, r->run_id);
			kq_buf_putc(out, ',');
			kq_buf_csv(out, r->env);
			kq_buf_putc(out, ',');
			kq_buf_csv(out, r->hostname);
			kq_buf_putc(out, ',');
			kq_buf_csv(out, kq_jstr(t, "name", ""));
			kq_buf_putc(out, ',');
			struct kq_buf g = KQ_BUF_INIT;
			json_t *gs = json_object_get(t, "groups"), *gv;
			size_t k;
			json_array_foreach(gs, k, gv)
			{
				kq_buf_printf(&g, "%s%s", k ? ";" : "", json_string_value(gv));
			}
			kq_buf_csv(out, kq_buf_str(&g));
			kq_buf_free(&g);
			kq_buf_putc(out, ',');
			kq_buf_csv(out, kq_jstr(t, "status", ""));
			kq_buf_putc(out, ',');
			kq_buf_csv(out, kq_jstr(m, "name", ""));
			kq_buf_putc(out, ',');
			kq_buf_csv(out, kq_jstr(m, "unit", ""));
			kq_buf_putc(out, ',');
			struct kq_buf l = KQ_BUF_INIT;
			kq_labels_fmt(&l, m, NULL, ";");
			kq_buf_csv(out, kq_buf_str(&l));
			kq_buf_free(&l);
			json_t *s = json_object_get(m, "stats");
			for (const char *const *k = kq_stat_names; *k; k++)
				csv_num(out, s, *k);
			csv_num(out, m, "value");
			kq_buf_puts(out, "\r\n");
		}
	}
}
