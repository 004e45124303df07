#include "reports/report.h"

#include <math.h>
#include <string.h>

#include "reports/html.h"
#include "reports/report_isolation.h"
#include "reports/results_load.h"

static void counts(const json_t *root, size_t *total, size_t *pass, size_t *fail, size_t *skip)
{
	json_t *tests = json_object_get(root, "tests"), *t;
	size_t i;
	*total = *pass = *fail = *skip = 0;
	json_array_foreach(tests, i, t)
	{
		const char *st = kq_jstr(t, "status", "");
		(*total)++;
		if (strcmp(st, "pass") == 0)
			(*pass)++;
		else if (strcmp(st, "fail") == 0)
			(*fail)++;
		else
			(*skip)++;
	}
}

static void groups_text(struct kq_buf *b, const json_t *test)
{
	json_t *g = json_object_get(test, "groups"), *v;
	size_t i;
	json_array_foreach(g, i, v)
	{
		if (i)
			kq_buf_puts(b, ", ");
		kq_buf_puts(b, json_string_value(v) ? json_string_value(v) : "");
	}
}

/* "cpuid.ns median <= 1500: observed 1234" */
static void verdict_text(struct kq_buf *b, const json_t *v)
{
	kq_buf_printf(b, "%s %s %s ", kq_jstr(v, "metric", "?"), kq_jstr(v, "stat", "value"),
		      kq_jstr(v, "op", "?"));
	kq_buf_human(b, kq_jnum(v, "limit", NAN), 6);
	kq_buf_puts(b, ": observed ");
	json_t *o = json_object_get(v, "observed");
	if (json_is_number(o))
		kq_buf_human(b, json_number_value(o), 6);
	else
		kq_buf_puts(b, "nothing");
}

static void html_header(struct kq_buf *b, const struct kq_run *r)
{
	json_t *run = json_object_get(r->root, "run");
	kq_buf_puts(b, "<header>\n<h1>kvmqual report: ");
	kq_buf_xml(b, r->hostname);
	kq_buf_puts(b, "</h1>\n<p class=\"sub\">");
	struct kq_buf d = KQ_BUF_INIT;
	kq_run_describe(r, &d);
	kq_buf_xml(b, kq_buf_str(&d));
	kq_buf_free(&d);
	kq_buf_puts(b, "</p>\n<p class=\"sub\">run ");
	kq_buf_xml(b, r->run_id);
	kq_buf_puts(b, ", started ");
	kq_buf_xml(b, kq_jstr(run, "started", "?"));
	if (kq_jstr(run, "finished", NULL)) {
		kq_buf_puts(b, ", finished ");
		kq_buf_xml(b, kq_jstr(run, "finished", ""));
	}
	json_t *argv = json_object_get(run, "argv"), *a;
	size_t i;
	if (json_array_size(argv)) {
		kq_buf_puts(b, "<br>command: <code>");
		json_array_foreach(argv, i, a)
		{
			if (i)
				kq_buf_putc(b, ' ');
			kq_buf_xml(b, json_string_value(a));
		}
		kq_buf_puts(b, "</code>");
	}
	if (json_is_integer(json_object_get(run, "exit_code")))
		kq_buf_printf(b, ", exit code %lld",
			      (long long)json_integer_value(json_object_get(run, "exit_code")));
	kq_buf_puts(b, "</p>\n</header>\n");
}

static void html_summary(struct kq_buf *b, const struct kq_run *r)
{
	size_t total, pass, fail, skip;
	counts(r->root, &total, &pass, &fail, &skip);
	kq_buf_puts(b, "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"cards\">");
	kq_buf_printf(b, "<div class=\"card\"><b>%zu</b>tests</div>", total);
	kq_buf_printf(b, "<div class=\"card pass\"><b>%zu</b>passed</div>", pass);
	kq_buf_printf(b, "<div class=\"card fail\"><b>%zu</b>failed</div>", fail);
	kq_buf_printf(b, "<div class=\"card skip\"><b>%zu</b>skipped</div>", skip);
	kq_buf_puts(b, "</div>\n");
	json_t *tests = json_object_get(r->root, "tests"), *t;
	size_t i;
	for (int pass_no = 0; pass_no < 2; pass_no++) {
		const char *want = pass_no ? "skip" : "fail";
		size_t n = pass_no ? skip : fail;
		if (!n)
			continue;
		kq_buf_printf(
		    b,
		    "<h3>%s</h3>\n<table><thead><tr><th>test</th><th>reason</th></tr></thead>"
		    "<tbody>\n",
		    pass_no ? "Skipped" : "Failed");
		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_jstr(t, "status", ""), want) != 0)
				continue;
			kq_buf_printf(b, "<tr class=\"%s\"><td><a href=\"#t%zu\">", want, i);
			kq_buf_xml(b, kq_jstr(t, "name", "?"));
			kq_buf_puts(b, "</a></td><td>");
			kq_buf_xml(b, kq_jstr(t, "reason", ""));
			kq_buf_puts(b, "</td></tr>\n");
		}
		kq_buf_puts(b, "</tbody></table>\n");
	}
	kq_buf_puts(b, "</section>\n");
}

static void html_host(struct kq_buf *b, const struct kq_run *r)
{
	kq_buf_puts(b, "<section id=\"host\">\n<h2>Host</h2>\n");
	kq_html_host_facts(b, r);
	kq_buf_puts(b, "<p class=\"muted\">Every field of the fingerprint: <a "
		       "href=\"#fingerprint\">Host fingerprint</a>.</p>\n</section>\n");
}

static void html_tests(struct kq_buf *b, const struct kq_run *r)
{
	json_t *tests = json_object_get(r->root, "tests"), *t;
	size_t i;
	kq_buf_puts(b,
		    "<section id=\"tests\">\n<h2>Tests</h2>\n<table><thead><tr><th>test</th>"
		    "<th>groups</th><th>status</th><th class=\"num\">time (s)</th><th>reason and "
		    "checks</th></tr></thead><tbody>\n");
	json_array_foreach(tests, i, t)
	{
		const char *st = kq_jstr(t, "status", "?");
		kq_buf_printf(b, "<tr class=\"%s\"><td><a href=\"#t%zu\">",
			      strcmp(st, "fail") ? "" : "fail", i);
		kq_buf_xml(b, kq_jstr(t, "name", "?"));
		kq_buf_puts(b, "</a></td><td>");
		struct kq_buf g = KQ_BUF_INIT;
		groups_text(&g, t);
		kq_buf_xml(b, kq_buf_str(&g));
		kq_buf_free(&g);
		kq_buf_puts(b, "</td><td>");
		kq_html_badge(b, st);
		kq_buf_puts(b, "</td>");
		kq_html_num_td(b, kq_jnum(t, "duration_s", NAN));
		kq_buf_puts(b, "<td>");
		kq_buf_xml(b, kq_jstr(t, "reason", ""));
		json_t *vs = json_object_get(t, "verdict"), *v;
		size_t j;
		json_array_foreach(vs, j, v)
		{
			struct kq_buf vt = KQ_BUF_INIT;
			verdict_text(&vt, v);
			kq_buf_printf(b, "%s<span class=\"%s\">",
				      (j || kq_jstr(t, "reason", "")[0]) ? "<br>" : "",
				      json_is_true(json_object_get(v, "ok")) ? "muted" : "err");
			kq_buf_puts(b,
				    json_is_true(json_object_get(v, "ok")) ? "ok: " : "FAILED: ");
			kq_buf_xml(b, kq_buf_str(&vt));
			kq_buf_puts(b, "</span>");
			kq_buf_free(&vt);
		}
		kq_buf_puts(b, "</td></tr>\n");
	}
	kq_buf_puts(b, "</tbody></table>\n</section>\n");
}

static void metric_row(struct kq_buf *b, const json_t *m)
{
	kq_buf_puts(b, "<tr><td>");
	kq_buf_xml(b, kq_jstr(m, "name", "?"));
	kq_buf_puts(b, "</td><td>");
	struct kq_buf l = KQ_BUF_INIT;
	kq_labels_fmt(&l, m, NULL, ", ");
	kq_buf_xml(b, kq_buf_str(&l));
	kq_buf_free(&l);
	kq_buf_puts(b, "</td><td>");
	kq_buf_xml(b, kq_jstr(m, "unit", ""));
	kq_buf_puts(b, "</td>");
	if (kq_metric_has_stats(m)) {
		json_t *s = json_object_get(m, "stats");
		kq_buf_printf(b, "<td class=\"num\">%lld</td>", (long long)kq_jnum(s, "n", 0));
		static const char *keys[] = {"min", "median", "mean", "p99", "max", "stddev"};
		for (size_t k = 0; k < 6; k++)
			kq_html_num_td(b, kq_jnum(s, keys[k], NAN));
		kq_buf_puts(b, "<td></td>");
	} else {
		kq_buf_puts(b, "<td></td><td></td><td></td><td></td><td></td><td></td><td></td>");
		kq_html_num_td(b, kq_jnum(m, "value", NAN));
	}
	kq_buf_puts(b, "</tr>\n");
}

static void html_metrics(struct kq_buf *b, const struct kq_run *r)
{
	json_t *tests = json_object_get(r->root, "tests"), *t;
	size_t i;
	kq_buf_puts(b, "<section id=\"metrics\">\n<h2>Tests in detail</h2>\n");
	json_array_foreach(tests, i, t)
	{
		const char *st = kq_jstr(t, "status", "?");
		kq_buf_printf(b, "<h3 id=\"t%zu\">", i);
		kq_buf_xml(b, kq_jstr(t, "name", "?"));
		kq_buf_puts(b, " ");
		kq_html_badge(b, st);
		kq_buf_puts(b, "</h3>\n");
		json_t *cfg = json_object_get(t, "config");
		if (json_object_size(cfg)) {
			char *c = json_dumps(cfg, JSON_COMPACT | JSON_PRESERVE_ORDER);
			kq_buf_puts(b, "<p class=\"muted\">workload ");
			kq_buf_xml(b, kq_jstr(t, "workload", "?"));
			kq_buf_puts(b, ", config <code>");
			kq_buf_xml(b, c ? c : "");
			kq_buf_puts(b, "</code></p>\n");
			free(c);
		}
		json_t *ms = json_object_get(t, "metrics"), *m;
		size_t j;
		if (json_array_size(ms)) {
			kq_buf_puts(
			    b, "<table><thead><tr><th>metric</th><th>labels</th><th>unit</th>"
			       "<th class=\"num\">n</th><th class=\"num\">min</th><th "
			       "class=\"num\">median</th><th class=\"num\">mean</th><th "
			       "class=\"num\">p99</th><th class=\"num\">max</th><th "
			       "class=\"num\">stddev</th><th class=\"num\">value</th></tr></thead>"
			       "<tbody>\n");
			json_array_foreach(ms, j, m) metric_row(b, m);
			kq_buf_puts(b, "</tbody></table>\n");
		}
		json_t *diag = json_object_get(t, "diagnostics"), *d;
		if (json_array_size(diag)) {
			kq_buf_puts(b, "<pre>");
			json_array_foreach(diag, j, d)
			{
				kq_buf_xml(b, json_string_value(d));
				kq_buf_putc(b, '\n');
			}
			b->len--; /* the last newline */
			b->p[b->len] = '\0';
			kq_buf_puts(b, "</pre>\n");
		}
		json_t *ev = json_object_get(t, "evidence");
		if (json_object_size(ev)) {
			char *e = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			kq_buf_puts(b, "<p class=\"muted\">evidence <code>");
			if (e && strlen(e) > 4000)
				strcpy(e + 3990, " …");
			kq_buf_xml(b, e ? e : "");
			kq_buf_puts(b, "</code></p>\n");
			free(e);
		}
	}
	kq_buf_puts(b, "</section>\n");
}

void kq_report_html(const struct kq_runset *rs, const struct kq_charts *charts, struct kq_buf *out)
{
	const struct kq_run *r = &rs->runs[0];
	struct kq_buf title = KQ_BUF_INIT;
	kq_buf_printf(&title, "kvmqual report: %s, %s, run %s", r->hostname, r->env, r->run_id);
	kq_html_begin(out, kq_buf_str(&title));
	kq_buf_free(&title);
	html_header(out, r);
	kq_html_emulated_banner(out, rs);
	kq_buf_puts(out, "<nav><a href=\"#summary\">Summary</a><a href=\"#host\">Host</a>"
			 "<a href=\"#tests\">Tests</a>");
	if (kq_report_has_isolation(r))
		kq_buf_puts(out, "<a href=\"#isolation\">Isolation</a>");
	kq_buf_puts(out, "<a href=\"#charts\">Charts</a>"
			 "<a href=\"#metrics\">Tests in detail</a>"
			 "<a href=\"#fingerprint\">Host fingerprint</a></nav>\n");
	html_summary(out, r);
	html_host(out, r);
	html_tests(out, r);
	kq_html_isolation(out, r);
	kq_html_charts(out, charts);
	html_metrics(out, r);
	kq_buf_puts(out, "<section id=\"fingerprint\">\n<h2>Host fingerprint</h2>\n");
	kq_html_host_all(out, r);
	kq_buf_puts(out, "</section>\n");
	kq_html_end(out, rs);
}

/* ---- Markdown ---------------------------------------------------------- */

static void md_num(struct kq_buf *b, double v)
{
	if (!isnan(v))
		kq_buf_human(b, v, 4);
}

void kq_report_md(const struct kq_runset *rs, const struct kq_charts *charts, const char *png_rel,
		  struct kq_buf *out)
{
	const struct kq_run *r = &rs->runs[0];
	size_t total, pass, fail, skip;
	json_t *tests = json_object_get(r->root, "tests"), *t;
	size_t i, rows;

	counts(r->root, &total, &pass, &fail, &skip);
	kq_buf_puts(out, "## kvmqual: ");
	kq_buf_md(out, r->hostname);
	kq_buf_printf(out, " (%s): %zu passed, %zu failed, %zu skipped\n\n", r->env, pass, fail,
		      skip);
	if (kq_runset_any_emulated(rs))
		kq_buf_puts(out,
			    "> **Emulated host:** KVM ran inside a software-emulated CPU. Results "
			    "are functional checks; timings are not representative.\n\n");
	struct kq_buf d = KQ_BUF_INIT;
	kq_run_describe(r, &d);
	kq_buf_puts(out, "Host ");
	kq_buf_md(out, kq_buf_str(&d));
	kq_buf_free(&d);
	kq_buf_puts(out, ", run ");
	kq_buf_md(out, r->run_id);
	kq_buf_printf(out, ", %zu tests.\n\n", total);

	for (int k = 0; k < 2; k++) {
		const char *want = k ? "skip" : "fail";
		if (!(k ? skip : fail))
			continue;
		kq_buf_printf(out, "### %s\n\n| test | reason |\n| --- | --- |\n",
			      k ? "Skipped" : "Failed");
		rows = 0;
		json_array_foreach(tests, i, t)
		{
			if (strcmp(kq_jstr(t, "status", ""), want) != 0)
				continue;
			if (rows++ == KQ_MD_MAX_ROWS)
				break;
			kq_buf_puts(out, "| ");
			kq_buf_md(out, kq_jstr(t, "name", "?"));
			kq_buf_puts(out, " | ");
			kq_buf_md(out, kq_jstr(t, "reason", ""));
			kq_buf_puts(out, " |\n");
		}
		if (rows > KQ_MD_MAX_ROWS)
			kq_buf_printf(out, "\n... and %zu more.\n",
				      (k ? skip : fail) - KQ_MD_MAX_ROWS);
		kq_buf_puts(out, "\n");
	}

	kq_buf_puts(out,
		    "### Metrics\n\n| test | metric | labels | unit | n | median | p99 | value |\n"
		    "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |\n");
	rows = 0;
	size_t all = 0;
	json_array_foreach(tests, i, t)
	{
		json_t *ms = json_object_get(t, "metrics"), *m;
		size_t j;
		json_array_foreach(ms, j, m)
		{
			all++;
			if (rows >= KQ_MD_MAX_ROWS)
				continue;
			rows++;
			kq_buf_puts(out, "| ");
			kq_buf_md(out, kq_jstr(t, "name", "?"));
			kq_buf_puts(out, " | ");
			kq_buf_md(out, kq_jstr(m, "name", "?"));
			kq_buf_puts(out, " | ");
			struct kq_buf l = KQ_BUF_INIT;
			kq_labels_fmt(&l, m, NULL, ", ");
			kq_buf_md(out, kq_buf_str(&l));
			kq_buf_free(&l);
			kq_buf_puts(out, " | ");
			kq_buf_md(out, kq_jstr(m, "unit", ""));
			kq_buf_puts(out, " | ");
			if (kq_metric_has_stats(m)) {
				json_t *s = json_object_get(m, "stats");
				kq_buf_printf(out, "%lld | ", (long long)kq_jnum(s, "n", 0));
				md_num(out, kq_jnum(s, "median", NAN));
				kq_buf_puts(out, " | ");
				md_num(out, kq_jnum(s, "p99", NAN));
				kq_buf_puts(out, " |  |\n");
			} else {
				kq_buf_puts(out, " |  |  | ");
				md_num(out, kq_jnum(m, "value", NAN));
				kq_buf_puts(out, " |\n");
			}
		}
	}
	if (all > rows)
		kq_buf_printf(
		    out,
		    "\n... and %zu more metrics (see report.html or `kvmqual export --csv`).\n",
		    all - rows);
	kq_buf_puts(out, "\n");

	if (png_rel && charts->n) {
		kq_buf_puts(out, "### Charts\n\n");
		for (i = 0; i < charts->n; i++) {
			const struct kq_chart *c = &charts->v[i];
			if (!c->png)
				continue;
			const char *base = strrchr(c->png, '/');
			kq_buf_puts(out, "![");
			kq_buf_md(out, c->title);
			kq_buf_printf(out, "](%s/%s)\n", png_rel, base ? base + 1 : c->png);
		}
		kq_buf_puts(out, "\n");
	}
	if (charts->error) {
		kq_buf_puts(out, "Charts left out: ");
		kq_buf_md(out, charts->error);
		kq_buf_puts(out, "\n");
	}
}
