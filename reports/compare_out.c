#include "reports/compare.h"

#include <math.h>
#include <string.h>

#include "reports/html.h"
#include "reports/report.h"
#include "reports/results_load.h"

#define TEXT_MAX_ROWS 40

static void pct(struct kq_buf *b, double d)
{
	if (isnan(d))
		kq_buf_puts(b, "n/a");
	else if (isinf(d))
		kq_buf_puts(b, d > 0 ? "+inf%" : "-inf%");
	else if (fabs(d) >= 1e5) /* samples near the limits of a double */
		kq_buf_printf(b, "%+.3g%%", d);
	else
		kq_buf_printf(b, "%+.1f%%", d);
}

static void pnum(struct kq_buf *b, double p)
{
	if (p < 1e-4)
		kq_buf_printf(b, "%.1e", p);
	else
		kq_buf_printf(b, "%.4f", p);
}

/* The raw p; ADJ: the Benjamini-Hochberg adjusted one instead. */
static void pval(struct kq_buf *b, const struct kq_cmp_delta *d, bool adj)
{
	if (!d->has_test)
		kq_buf_puts(b, "n/a");
	else
		pnum(b, adj ? d->p_adj : d->mw.p);
}

/* The interval of candidate CAND, bootstrapped here when the comparison
 * left it out (only the rows shown need one). */
static void ci(struct kq_buf *b, const struct kq_cmp *c, const struct kq_cmp_row *row, size_t cand)
{
	struct kq_cmp_delta tmp = row->d[cand];
	const struct kq_cmp_delta *d = &tmp;
	if (!tmp.has_ci && tmp.has_test)
		kq_compare_ci(c, row, cand, &tmp);
	/* Medians of samples near DBL_MAX overflow: no interval to show. */
	if (!d->has_ci || isnan(d->ci_lo) || isnan(d->ci_hi)) {
		kq_buf_puts(b, "n/a");
		return;
	}
	kq_buf_putc(b, '[');
	kq_buf_human(b, d->ci_lo, 4);
	kq_buf_puts(b, ", ");
	kq_buf_human(b, d->ci_hi, 4);
	kq_buf_putc(b, ']');
}

static void center(struct kq_buf *b, const struct kq_cmp_side *s)
{
	if (s->present)
		kq_buf_human(b, s->center, 4);
	else
		kq_buf_puts(b, "-");
}

static void metric_name(struct kq_buf *b, const struct kq_cmp_row *row)
{
	kq_buf_printf(b, "%s/%s", row->test, row->metric);
	if (row->labels && *row->labels)
		kq_buf_printf(b, " [%s]", row->labels);
}

static size_t tested_max(const struct kq_cmp *c)
{
	size_t n = 0;
	for (size_t r = 1; r < c->rs->n; r++)
		if (c->counts[r].tested > n)
			n = c->counts[r].tested;
	return n;
}

static void method(struct kq_buf *b, const struct kq_cmp *c)
{
	kq_buf_printf(
	    b,
	    "threshold %g%%, minimum effect %g%%, false discovery rate %g; per metric the "
	    "median of the pooled samples (or the value); two-sided Mann-Whitney U test "
	    "(exact without ties for n <= %d, else the normal approximation with tie and "
	    "continuity corrections), its p adjusted over all %zu tested metrics of the "
	    "comparison (Benjamini-Hochberg: q); percentile bootstrap %g%% interval of the "
	    "difference of medians from %u resamples, xoshiro256** seeded with %llu through "
	    "splitmix64 and restarted for every metric. A metric is worse when it moves the "
	    "wrong way by more than the threshold and the minimum effect and q < the false "
	    "discovery rate; metrics without samples are judged by the threshold alone and "
	    "fail the comparison only when picked with --metric.",
	    c->opts.threshold_pct, c->opts.min_effect_pct, c->opts.fdr, KQ_MWU_EXACT_MAX,
	    tested_max(c), KQ_CMP_CI_LEVEL * 100, c->opts.resamples,
	    (unsigned long long)c->opts.seed);
}

static const char *run_status(const struct kq_cmp *c, size_t r, struct kq_buf *tmp)
{
	size_t p = 0, f = 0, s = 0;
	const struct kq_cmp_tests *t = &c->runs[r]->tests;
	for (size_t i = 0; i < t->n; i++) {
		const char *st = t->v[i].status;
		p += strcmp(st, "pass") == 0;
		f += strcmp(st, "fail") == 0;
		s += strcmp(st, "skip") == 0;
	}
	kq_buf_reset(tmp);
	kq_buf_printf(tmp, "%zu passed, %zu failed, %zu skipped", p, f, s);
	return kq_buf_str(tmp);
}

static void counts_line(struct kq_buf *b, const struct kq_cmp_counts *k)
{
	kq_buf_printf(b, "%zu worse (%zu gated), %zu better, %zu same", k->worse, k->worse_gated,
		      k->better, k->same);
	if (k->changed)
		kq_buf_printf(b, ", %zu changed (no direction)", k->changed);
	if (k->missing)
		kq_buf_printf(b, ", %zu missing", k->missing);
	if (k->added)
		kq_buf_printf(b, ", %zu added", k->added);
}

/* Verdicts in the order a reader wants them: regressions first. */
static const enum kq_verdict shown[] = {KQ_V_WORSE, KQ_V_BETTER, KQ_V_CHANGED, KQ_V_MISSING,
					KQ_V_ADDED};

/* "REGRESSION: ..." or "no gated metric regressed", with the missing tests. */
static void verdict_line(struct kq_buf *b, const struct kq_cmp *c)
{
	size_t reg = kq_compare_regressions(c), miss = kq_compare_missing_failures(c);
	if (reg)
		kq_buf_printf(b, "REGRESSION: %zu gated metric%s worse", reg, reg == 1 ? "" : "s");
	if (miss)
		kq_buf_printf(b, "%sFAIL: %zu test%s of A missing (--allow-missing accepts that)",
			      reg ? "; " : "", miss, miss == 1 ? "" : "s");
	if (!reg && !miss)
		kq_buf_puts(b, "no gated metric regressed");
}

static void missing_text(struct kq_buf *out, const struct kq_cmp *c, size_t r)
{
	json_t *names = c->missing_tests[r], *v;
	size_t n = json_array_size(names), i;
	if (!n)
		return;
	kq_buf_printf(out, "  tests of A missing from %s (%zu%s):", c->rs->runs[r].label, n,
		      c->opts.allow_missing ? ", allowed" : ", a failure");
	json_array_foreach(names, i, v)
	{
		if (i == TEXT_MAX_ROWS) {
			kq_buf_printf(out, " ... and %zu more", n - i);
			break;
		}
		kq_buf_printf(out, " %s", json_string_value(v));
	}
	kq_buf_putc(out, '\n');
}

/* ---- text ------------------------------------------------------------------ */

void kq_compare_text(const struct kq_cmp *c, struct kq_buf *out)
{
	const struct kq_runset *rs = c->rs;
	struct kq_buf tmp = KQ_BUF_INIT;
	for (size_t r = 0; r < rs->n; r++) {
		kq_buf_printf(out, "%s %s = %s (", r ? "        " : "compare:", rs->runs[r].label,
			      rs->runs[r].path);
		kq_run_describe(&rs->runs[r], out);
		kq_buf_printf(out, "; %s)\n", run_status(c, r, &tmp));
	}
	if (kq_runset_any_emulated(rs))
		kq_buf_puts(out, "note: emulated host in the comparison: timings are not "
				 "representative\n");
	size_t nh = json_array_size(c->host_diff), i;
	if (nh) {
		kq_buf_printf(out, "host differences (%zu):\n", nh);
		json_t *row;
		json_array_foreach(c->host_diff, i, row)
		{
			if (i == TEXT_MAX_ROWS) {
				kq_buf_printf(out, "  ... and %zu more\n", nh - i);
				break;
			}
			kq_buf_printf(out, "  %s:", json_string_value(json_array_get(row, 0)));
			for (size_t r = 0; r < rs->n; r++) {
				json_t *v = json_array_get(row, r + 1);
				const char *s = json_is_string(v) ? json_string_value(v) : NULL;
				kq_buf_printf(out, "%s %s ", r ? " |" : "", rs->runs[r].label);
				if (!s)
					kq_buf_puts(out, "(absent)");
				else if (strlen(s) > 60)
					kq_buf_printf(out, "\"%.57s...\"", s);
				else
					kq_buf_printf(out, "\"%s\"", s);
			}
			kq_buf_putc(out, '\n');
		}
	}
	size_t ns = json_array_size(c->status_diff);
	if (ns) {
		kq_buf_printf(out, "test status changes (%zu):\n", ns);
		json_t *row;
		json_array_foreach(c->status_diff, i, row)
		{
			if (i == TEXT_MAX_ROWS) {
				kq_buf_printf(out, "  ... and %zu more\n", ns - i);
				break;
			}
			kq_buf_printf(out, "  %s:", json_string_value(json_array_get(row, 0)));
			for (size_t r = 0; r < rs->n; r++) {
				json_t *v = json_array_get(row, r + 1);
				kq_buf_printf(out, " %s %s", rs->runs[r].label,
					      json_is_string(v) ? json_string_value(v) : "absent");
			}
			kq_buf_putc(out, '\n');
		}
	}
	for (size_t r = 1; r < rs->n; r++) {
		kq_buf_printf(out, "%s vs A: ", rs->runs[r].label);
		counts_line(out, &c->counts[r]);
		kq_buf_puts(out, "\n");
		size_t listed = 0;
		for (size_t v = 0; v < sizeof(shown) / sizeof(shown[0]); v++) {
			if (shown[v] == KQ_V_MISSING || shown[v] == KQ_V_ADDED)
				continue; /* counted above; listed in the HTML and Markdown */
			for (size_t k = 0; k < 2 * c->nrows; k++) {
				/* gated regressions first, then the rest */
				const struct kq_cmp_row *row = &c->rows[k % c->nrows];
				const struct kq_cmp_delta *d = &row->d[r];
				if (d->verdict != shown[v] || d->gated != (k < c->nrows))
					continue;
				if (listed++ >= TEXT_MAX_ROWS)
					continue;
				kq_buf_printf(out, "  %-7s ", kq_verdict_name(d->verdict));
				metric_name(out, row);
				kq_buf_puts(out, ": ");
				center(out, &row->side[0]);
				kq_buf_puts(out, " -> ");
				center(out, &row->side[r]);
				kq_buf_printf(out, " %s (", row->unit);
				pct(out, d->delta_pct);
				if (d->has_test) {
					kq_buf_puts(out, "), 95% CI of the median difference ");
					ci(out, c, row, r);
					kq_buf_printf(out, " %s", row->unit);
					kq_buf_puts(out, ", Mann-Whitney p = ");
					pval(out, d, false);
					kq_buf_puts(out, ", q = ");
					pval(out, d, true);
				} else {
					kq_buf_puts(out, ", no samples: threshold alone");
					kq_buf_putc(out, ')');
				}
				if (d->verdict == KQ_V_WORSE && !d->gated)
					kq_buf_puts(out, " (not gated)");
				kq_buf_putc(out, '\n');
			}
		}
		if (listed > TEXT_MAX_ROWS)
			kq_buf_printf(out, "  ... and %zu more\n", listed - TEXT_MAX_ROWS);
		missing_text(out, c, r);
	}
	kq_buf_puts(out, "method: ");
	method(out, c);
	kq_buf_putc(out, '\n');
	kq_buf_puts(out, "verdict: ");
	verdict_line(out, c);
	kq_buf_putc(out, '\n');
	kq_buf_free(&tmp);
}

/* ---- HTML ------------------------------------------------------------------ */

static void html_runs(struct kq_buf *b, const struct kq_cmp *c)
{
	const struct kq_runset *rs = c->rs;
	struct kq_buf tmp = KQ_BUF_INIT;
	kq_buf_puts(b,
		    "<table><thead><tr><th></th><th>results</th><th>host</th><th>environment</th>"
		    "<th>kernel</th><th>CPU</th><th>run</th><th>tests</th></tr></thead><tbody>\n");
	for (size_t r = 0; r < rs->n; r++) {
		const struct kq_run *run = &rs->runs[r];
		kq_buf_printf(b, "<tr><td><b>%s</b>%s</td><td>", run->label,
			      r ? "" : " (baseline)");
		kq_buf_xml(b, run->path);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run->hostname);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run->env);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run->kernel);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run->cpu_brand);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run->run_id);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, run_status(c, r, &tmp));
		kq_buf_puts(b, "</td></tr>\n");
	}
	kq_buf_puts(b, "</tbody></table>\n");
	kq_buf_free(&tmp);
}

static void html_pairs(struct kq_buf *b, const struct kq_cmp *c, const json_t *rows,
		       const char *first)
{
	const struct kq_runset *rs = c->rs;
	json_t *row;
	size_t i;
	kq_buf_printf(b, "<table><thead><tr><th>%s</th>", first);
	for (size_t r = 0; r < rs->n; r++)
		kq_buf_printf(b, "<th>%s</th>", rs->runs[r].label);
	kq_buf_puts(b, "</tr></thead><tbody>\n");
	json_array_foreach(rows, i, row)
	{
		kq_buf_puts(b, "<tr><td>");
		kq_buf_xml(b, json_string_value(json_array_get(row, 0)));
		kq_buf_puts(b, "</td>");
		for (size_t r = 0; r < rs->n; r++) {
			json_t *v = json_array_get(row, r + 1);
			kq_buf_puts(b, "<td>");
			if (json_is_string(v))
				kq_buf_xml(b, json_string_value(v));
			else
				kq_buf_puts(b, "<span class=\"muted\">absent</span>");
			kq_buf_puts(b, "</td>");
		}
		kq_buf_puts(b, "</tr>\n");
	}
	kq_buf_puts(b, "</tbody></table>\n");
}

static void html_row(struct kq_buf *b, const struct kq_cmp *c, const struct kq_cmp_row *row)
{
	const struct kq_runset *rs = c->rs;
	enum kq_verdict worst = KQ_V_SAME;
	for (size_t r = 1; r < rs->n; r++) {
		if (row->d[r].verdict == KQ_V_WORSE)
			worst = KQ_V_WORSE;
		else if (row->d[r].verdict == KQ_V_BETTER && worst != KQ_V_WORSE)
			worst = KQ_V_BETTER;
	}
	kq_buf_printf(b, "<tr class=\"%s\"><td>", kq_verdict_name(worst));
	kq_buf_xml(b, row->test);
	kq_buf_puts(b, "</td><td>");
	kq_buf_xml(b, row->metric);
	bool gated = false;
	for (size_t r = 1; r < rs->n; r++)
		gated |= row->d[r].gated;
	if (!gated)
		kq_buf_puts(b, " <span class=\"muted\">(not gated)</span>");
	kq_buf_puts(b, "</td><td>");
	kq_buf_xml(b, row->labels);
	kq_buf_puts(b, "</td><td>");
	kq_buf_xml(b, row->unit);
	kq_buf_puts(b, "</td>");
	if (row->side[0].present)
		kq_html_num_td(b, row->side[0].center);
	else
		kq_buf_puts(b, "<td class=\"num muted\">-</td>");
	for (size_t r = 1; r < rs->n; r++) {
		const struct kq_cmp_delta *d = &row->d[r];
		if (row->side[r].present)
			kq_html_num_td(b, row->side[r].center);
		else
			kq_buf_puts(b, "<td class=\"num muted\">-</td>");
		kq_buf_puts(b, "<td class=\"num\">");
		pct(b, d->delta_pct);
		kq_buf_puts(b, "</td><td class=\"num\">");
		ci(b, c, row, r);
		kq_buf_puts(b, "</td><td class=\"num\">");
		pval(b, d, false);
		kq_buf_puts(b, "</td><td class=\"num\">");
		pval(b, d, true);
		kq_buf_puts(b, "</td><td>");
		kq_html_badge(b, kq_verdict_name(d->verdict));
		kq_buf_puts(b, "</td>");
	}
	kq_buf_puts(b, "</tr>\n");
}

static void html_table_head(struct kq_buf *b, const struct kq_runset *rs)
{
	kq_buf_puts(b, "<table><thead><tr><th>test</th><th>metric</th><th>labels</th><th>unit</th>"
		       "<th class=\"num\">A median</th>");
	for (size_t r = 1; r < rs->n; r++) {
		const char *l = rs->runs[r].label;
		kq_buf_printf(
		    b,
		    "<th class=\"num\">%s median</th><th class=\"num\">%s &Delta;</th><th "
		    "class=\"num\">%s 95%% CI of &Delta; median</th><th class=\"num\">%s "
		    "p</th><th class=\"num\">%s q (adjusted p)</th><th>%s verdict</th>",
		    l, l, l, l, l, l);
	}
	kq_buf_puts(b, "</tr></thead><tbody>\n");
}

void kq_compare_html(const struct kq_cmp *c, const struct kq_charts *charts, struct kq_buf *out)
{
	const struct kq_runset *rs = c->rs;
	size_t reg = kq_compare_regressions(c);
	struct kq_buf title = KQ_BUF_INIT;
	kq_buf_puts(&title, "kvmqual compare: ");
	for (size_t r = 1; r < rs->n; r++)
		kq_buf_printf(&title, "%s%s", r > 1 ? ", " : "", rs->runs[r].label);
	kq_buf_puts(&title, " against A");
	kq_html_begin(out, kq_buf_str(&title));
	kq_buf_puts(out, "<header>\n<h1>");
	kq_buf_xml(out, kq_buf_str(&title));
	kq_buf_free(&title);
	kq_buf_puts(out, "</h1>\n");
	if (reg || kq_compare_missing_failures(c)) {
		struct kq_buf v = KQ_BUF_INIT;
		verdict_line(&v, c);
		kq_buf_puts(out, "<p class=\"banner\">");
		kq_buf_xml(out, kq_buf_str(&v));
		kq_buf_puts(out, "</p>\n");
		kq_buf_free(&v);
	} else
		kq_buf_puts(out, "<p class=\"sub\"><b>No gated metric regressed.</b></p>\n");
	kq_buf_puts(out, "</header>\n");
	kq_html_emulated_banner(out, rs);
	kq_buf_puts(out, "<nav><a href=\"#runs\">Runs</a>");
	if (json_array_size(c->host_diff))
		kq_buf_puts(out, "<a href=\"#hosts\">Host differences</a>");
	kq_buf_puts(out,
		    "<a href=\"#changes\">Changes</a><a href=\"#charts\">Charts</a>"
		    "<a href=\"#metrics\">All metrics</a><a href=\"#method\">Method</a></nav>\n");

	kq_buf_puts(out, "<section id=\"runs\">\n<h2>Runs</h2>\n");
	html_runs(out, c);
	kq_buf_puts(out, "</section>\n");
	if (json_array_size(c->host_diff)) {
		kq_buf_puts(out, "<section id=\"hosts\">\n<h2>Host differences</h2>\n"
				 "<p class=\"muted\">Fields of the host fingerprint that differ; "
				 "numbers from different hosts measure different machines.</p>\n");
		html_pairs(out, c, c->host_diff, "field");
		kq_buf_puts(out, "</section>\n");
	}
	kq_buf_puts(out, "<section id=\"changes\">\n<h2>Changes</h2>\n");
	for (size_t r = 1; r < rs->n; r++) {
		kq_buf_printf(out, "<div class=\"cards\"><div class=\"card\"><b>%s</b>vs A</div>",
			      rs->runs[r].label);
		const struct kq_cmp_counts *k = &c->counts[r];
		kq_buf_printf(out, "<div class=\"card fail\"><b>%zu</b>worse (%zu gated)</div>",
			      k->worse, k->worse_gated);
		kq_buf_printf(out, "<div class=\"card pass\"><b>%zu</b>better</div>", k->better);
		kq_buf_printf(out, "<div class=\"card\"><b>%zu</b>same</div>", k->same);
		if (k->changed)
			kq_buf_printf(out, "<div class=\"card skip\"><b>%zu</b>changed</div>",
				      k->changed);
		if (k->missing || k->added)
			kq_buf_printf(
			    out, "<div class=\"card skip\"><b>%zu / %zu</b>missing / added</div>",
			    k->missing, k->added);
		kq_buf_puts(out, "</div>\n");
	}
	if (json_array_size(c->status_diff)) {
		kq_buf_puts(out, "<h3>Test status changes</h3>\n");
		html_pairs(out, c, c->status_diff, "test");
	}
	size_t nchanged = 0;
	for (size_t k = 0; k < c->nrows; k++)
		for (size_t r = 1; r < rs->n; r++)
			if (c->rows[k].d[r].verdict != KQ_V_SAME) {
				nchanged++;
				break;
			}
	if (nchanged) {
		kq_buf_puts(out, "<h3>Metrics that changed</h3>\n");
		html_table_head(out, rs);
		for (size_t v = 0; v < sizeof(shown) / sizeof(shown[0]); v++)
			for (size_t k = 0; k < c->nrows; k++) {
				const struct kq_cmp_row *row = &c->rows[k];
				/* listed once, under its most important verdict */
				enum kq_verdict first = KQ_V_SAME;
				for (size_t vv = 0;
				     vv < sizeof(shown) / sizeof(shown[0]) && first == KQ_V_SAME;
				     vv++)
					for (size_t r = 1; r < rs->n; r++)
						if (row->d[r].verdict == shown[vv]) {
							first = shown[vv];
							break;
						}
				if (first == shown[v])
					html_row(out, c, row);
			}
		kq_buf_puts(out, "</tbody></table>\n");
	} else {
		kq_buf_puts(out, "<p>No metric changed beyond the threshold.</p>\n");
	}
	kq_buf_puts(out, "</section>\n");
	kq_html_charts(out, charts);
	kq_buf_puts(out, "<section id=\"metrics\">\n<h2>All metrics</h2>\n");
	html_table_head(out, rs);
	for (size_t k = 0; k < c->nrows; k++)
		html_row(out, c, &c->rows[k]);
	kq_buf_puts(out, "</tbody></table>\n</section>\n");
	kq_buf_puts(out, "<section id=\"method\">\n<h2>Method</h2>\n<p>");
	struct kq_buf m = KQ_BUF_INIT;
	method(&m, c);
	kq_buf_xml(out, kq_buf_str(&m));
	kq_buf_free(&m);
	kq_buf_puts(out, " Lower is better for time units, cycles and ratios; higher for rates "
			 "(units ending in /s); other units are shown but never gated.</p>\n"
			 "</section>\n");
	kq_html_end(out, rs);
}

/* ---- Markdown -------------------------------------------------------------- */

void kq_compare_md(const struct kq_cmp *c, const struct kq_charts *charts, const char *png_rel,
		   struct kq_buf *out)
{
	const struct kq_runset *rs = c->rs;
	size_t reg = kq_compare_regressions(c), i;
	struct kq_buf tmp = KQ_BUF_INIT;

	if (reg)
		kq_buf_printf(out, "## kvmqual compare: regression in %zu gated metric%s\n\n", reg,
			      reg == 1 ? "" : "s");
	else if (kq_compare_missing_failures(c))
		kq_buf_printf(out, "## kvmqual compare: %zu tests of A missing\n\n",
			      kq_compare_missing_failures(c));
	else
		kq_buf_puts(out, "## kvmqual compare: no gated metric regressed\n\n");
	for (size_t r = 0; r < rs->n; r++) {
		kq_buf_printf(out, "- **%s**%s: ", rs->runs[r].label, r ? "" : " (baseline)");
		kq_buf_reset(&tmp);
		kq_run_describe(&rs->runs[r], &tmp);
		kq_buf_md(out, kq_buf_str(&tmp));
		kq_buf_puts(out, ", run ");
		kq_buf_md(out, rs->runs[r].run_id);
		kq_buf_puts(out, ", ");
		kq_buf_md(out, run_status(c, r, &tmp));
		kq_buf_putc(out, '\n');
	}
	kq_buf_putc(out, '\n');
	if (kq_runset_any_emulated(rs))
		kq_buf_puts(out, "> **Emulated host** in this comparison: timings are not "
				 "representative.\n\n");
	const json_t *tables[] = {c->host_diff, c->status_diff};
	const char *heads[] = {"Host differences", "Test status changes"};
	const char *firsts[] = {"field", "test"};
	for (size_t t = 0; t < 2; t++) {
		size_t n = json_array_size(tables[t]);
		json_t *row;
		if (!n)
			continue;
		kq_buf_printf(out, "### %s\n\n| %s |", heads[t], firsts[t]);
		for (size_t r = 0; r < rs->n; r++)
			kq_buf_printf(out, " %s |", rs->runs[r].label);
		kq_buf_puts(out, "\n| --- |");
		for (size_t r = 0; r < rs->n; r++)
			kq_buf_puts(out, " --- |");
		kq_buf_putc(out, '\n');
		json_array_foreach(tables[t], i, row)
		{
			if (i == KQ_MD_MAX_ROWS)
				break;
			kq_buf_puts(out, "| ");
			kq_buf_md(out, json_string_value(json_array_get(row, 0)));
			kq_buf_puts(out, " |");
			for (size_t r = 0; r < rs->n; r++) {
				json_t *v = json_array_get(row, r + 1);
				kq_buf_putc(out, ' ');
				kq_buf_md(out,
					  json_is_string(v) ? json_string_value(v) : "(absent)");
				kq_buf_puts(out, " |");
			}
			kq_buf_putc(out, '\n');
		}
		if (n > KQ_MD_MAX_ROWS)
			kq_buf_printf(out, "\n... and %zu more.\n", n - KQ_MD_MAX_ROWS);
		kq_buf_putc(out, '\n');
	}
	for (size_t r = 1; r < rs->n; r++) {
		kq_buf_printf(out, "### %s vs A: ", rs->runs[r].label);
		counts_line(out, &c->counts[r]);
		kq_buf_puts(out, "\n\n");
		size_t rows = 0, all = 0;
		for (size_t v = 0; v < sizeof(shown) / sizeof(shown[0]); v++)
			for (size_t k = 0; k < 2 * c->nrows; k++) {
				/* gated regressions first, then the rest */
				const struct kq_cmp_row *row = &c->rows[k % c->nrows];
				const struct kq_cmp_delta *d = &row->d[r];
				if (d->verdict != shown[v] || d->gated != (k < c->nrows))
					continue;
				all++;
				if (rows >= KQ_MD_MAX_ROWS)
					continue;
				if (!rows++)
					kq_buf_printf(
					    out,
					    "| verdict | test | metric | labels | unit | A | %s | "
					    "change | 95%% CI of Δ median | p | q |\n"
					    "| --- | --- | --- | --- | --- | ---: | ---: | ---: | "
					    "---: | ---: | ---: |\n",
					    rs->runs[r].label);
				kq_buf_printf(
				    out, "| %s%s%s | ", d->verdict == KQ_V_WORSE ? "**" : "",
				    kq_verdict_name(d->verdict),
				    d->verdict == KQ_V_WORSE ? (d->gated ? "**" : "** (not gated)")
							     : "");
				kq_buf_md(out, row->test);
				kq_buf_puts(out, " | ");
				kq_buf_md(out, row->metric);
				kq_buf_puts(out, " | ");
				kq_buf_md(out, row->labels);
				kq_buf_puts(out, " | ");
				kq_buf_md(out, row->unit);
				kq_buf_puts(out, " | ");
				center(out, &row->side[0]);
				kq_buf_puts(out, " | ");
				center(out, &row->side[r]);
				kq_buf_puts(out, " | ");
				pct(out, d->delta_pct);
				kq_buf_puts(out, " | ");
				ci(out, c, row, r);
				kq_buf_puts(out, " | ");
				pval(out, d, false);
				kq_buf_puts(out, " | ");
				pval(out, d, true);
				kq_buf_puts(out, " |\n");
			}
		if (all > rows)
			kq_buf_printf(out, "\n... and %zu more (see compare.html).\n", all - rows);
		if (!all)
			kq_buf_puts(out, "No metric changed beyond the threshold.\n");
		size_t nm = json_array_size(c->missing_tests[r]);
		if (nm) {
			kq_buf_printf(
			    out, "\n**Tests of A missing from %s** (%zu%s): ", rs->runs[r].label,
			    nm, c->opts.allow_missing ? ", allowed" : ", a failure");
			for (size_t k = 0; k < nm && k < KQ_MD_MAX_ROWS; k++) {
				kq_buf_puts(out, k ? ", " : "");
				kq_buf_md(
				    out, json_string_value(json_array_get(c->missing_tests[r], k)));
			}
			if (nm > KQ_MD_MAX_ROWS)
				kq_buf_printf(out, " ... and %zu more", nm - KQ_MD_MAX_ROWS);
			kq_buf_putc(out, '\n');
		}
		kq_buf_putc(out, '\n');
	}
	if (png_rel && charts->n) {
		kq_buf_puts(out, "### Charts\n\n");
		for (i = 0; i < charts->n; i++) {
			const struct kq_chart *ch = &charts->v[i];
			if (!ch->png)
				continue;
			const char *base = strrchr(ch->png, '/');
			kq_buf_puts(out, "![");
			kq_buf_md(out, ch->title);
			kq_buf_printf(out, "](%s/%s)\n", png_rel, base ? base + 1 : ch->png);
		}
		kq_buf_putc(out, '\n');
	}
	kq_buf_puts(out, "<sub>");
	kq_buf_reset(&tmp);
	method(&tmp, c);
	kq_buf_md(out, kq_buf_str(&tmp));
	kq_buf_puts(out, "</sub>\n");
	kq_buf_free(&tmp);
}
