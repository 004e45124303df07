/* Scaling against vCPUs: metrics labelled with `vcpus` (how many vCPUs ran
 * at once) drawn against that count, median with a whisker to the p99 (or
 * the value), one line per metric; per-vCPU copies and repeats are pooled.
 * Overlaid runs keep a metric's colour and differ in dash pattern (A solid). */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "reports/results_load.h"

#define SEP "\x1f"

static bool qualifies(json_t *test, json_t *metric)
{
	return !isnan(kq_label_num(metric, "vcpus", NAN)) &&
	       (kq_metric_has_stats(metric) || kq_metric_has_value(metric));
}

static const char *const line_skip[] = {"vcpus",      "vcpu",	    "repeat",
					"batch_size", "iterations", NULL};
static const char *const title_skip[] = {"vcpus",      "vcpu", "repeat",     "batch_size",
					 "iterations", "kind", "handled_in", NULL};

/* UNIT SEP RUN SEP TEST SEP METRIC SEP LABELS */
static void line_key(struct kq_buf *b, size_t run, json_t *test, json_t *metric)
{
	kq_buf_printf(b, "%s" SEP "%zu" SEP "%s" SEP "%s" SEP, kq_jstr(metric, "unit", ""), run,
		      kq_jstr(test, "name", ""), kq_jstr(metric, "name", ""));
	kq_labels_fmt(b, metric, line_skip, ",");
}

/* The part of a line key that is the same line in another run. */
static const char *line_rest(const char *key)
{
	const char *p = strstr(key, SEP);
	p = p ? strstr(p + 1, SEP) : NULL;
	return p ? p + 1 : key;
}

struct collect {
	json_t *lines; /* line key -> array of vcpus counts seen */
	json_t *order; /* line keys in order */
	struct kq_pools pools;
};

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	if (!qualifies(test, metric))
		return 0;
	struct kq_buf l = KQ_BUF_INIT, k = KQ_BUF_INIT;
	double v = kq_label_num(metric, "vcpus", 0);
	line_key(&l, run, test, metric);
	kq_buf_printf(&k, "%s" SEP "%.17g", kq_buf_str(&l), v);
	json_t *arr = json_object_get(c->lines, kq_buf_str(&l));
	if (!arr) {
		arr = json_array();
		json_object_set_new(c->lines, kq_buf_str(&l), arr);
		json_array_append_new(c->order, json_string(kq_buf_str(&l)));
	}
	if (!kq_pools_find(&c->pools, kq_buf_str(&k)))
		json_array_append_new(arr, json_real(v));
	kq_pools_add(&c->pools, kq_buf_str(&k), run, test, metric);
	int rc = (l.failed || k.failed || c->pools.failed) ? -1 : 0;
	kq_buf_free(&l);
	kq_buf_free(&k);
	return rc;
}

static void collect_free(struct collect *c)
{
	kq_pools_free(&c->pools);
	json_decref(c->lines);
	json_decref(c->order);
}

/* Something to draw: a line with two or more distinct vCPU counts. */
static bool has_data(const struct kq_runset *rs)
{
	struct collect c = {.lines = json_object(), .order = json_array()};
	bool any = false;
	if (kq_foreach_metric(rs, collect, &c) == 0) {
		const char *k;
		json_t *v;
		json_object_foreach(c.lines, k, v) any |= json_array_size(v) >= 2;
	}
	collect_free(&c);
	return any;
}

static int cmp_real(const void *pa, const void *pb)
{
	double a = json_real_value(*(json_t *const *)pa), b = json_real_value(*(json_t *const *)pb);
	return kq_cmp_double(&a, &b);
}

static void line_title(struct kq_buf *t, const struct kq_runset *rs, const struct kq_pool *pool)
{
	if (rs->n > 1)
		kq_buf_printf(t, "%s: ", rs->runs[pool->run].label);
	kq_buf_printf(t, "%s %s", kq_jstr(pool->test, "name", "?"),
		      kq_jstr(pool->metric, "name", "?"));
	size_t mark = t->len;
	kq_buf_puts(t, " [");
	size_t before = t->len;
	kq_labels_fmt(t, pool->metric, title_skip, ", ");
	if (t->len == before) {
		t->len = mark;
		t->p[mark] = '\0';
	} else {
		kq_buf_putc(t, ']');
	}
}

static int render_chart(const struct kq_runset *rs, struct kq_plotter *p, struct collect *c,
			const char *unit, json_t *lines, size_t page, size_t npages,
			struct kq_plot **made)
{
	char title[160], suffix[48];
	size_t n = json_array_size(lines);
	snprintf(title, sizeof(title), "Scaling with vCPUs (%s)", unit);
	if (npages > 1)
		snprintf(title + strlen(title), sizeof(title) - strlen(title), ", part %zu of %zu",
			 page + 1, npages);
	if (page)
		snprintf(suffix, sizeof(suffix), "%s-%zu", unit, page + 1);
	else
		snprintf(suffix, sizeof(suffix), "%s", unit);
	struct kq_plot *pl = kq_plot_new(p, suffix, title, n > 2 ? KQ_PLOT_TALL : 0);
	if (!pl)
		return -1;
	*made = pl;
	struct kq_buf *s = kq_plot_script(pl);
	struct kq_buf yl = KQ_BUF_INIT;
	kq_axis_label(&yl, strcmp(unit, "cycles") == 0 ? "per operation" : NULL, unit);
	kq_buf_puts(s, "set xlabel 'vCPUs running at once'\nset ylabel ");
	kq_gp_str(s, kq_buf_str(&yl));
	kq_buf_free(&yl);
	kq_buf_putc(s, '\n');
	double vmax = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *counts =
		    json_object_get(c->lines, json_string_value(json_array_get(lines, i)));
		size_t j;
		json_t *v;
		json_array_foreach(counts, j, v) vmax = fmax(vmax, json_real_value(v));
	}
	if (vmax >= 8)
		kq_plot_cmd(pl, "set logscale x 2");
	else
		kq_plot_cmd(pl, "set xrange [0.5:%g]\nset xtics 1", vmax + 0.5);
	kq_plot_cmd(pl, "set yrange [0:*]");
	kq_plot_cmd(pl, n > 2 ? "set key below left Left reverse maxcols 2"
			      : "set key inside left top");
	kq_buf_puts(s, "plot ");
	size_t color_idx = 0;
	const char *prev = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *lkey = json_string_value(json_array_get(lines, i));
		json_t *counts = json_object_get(c->lines, lkey);
		size_t m = json_array_size(counts);
		json_t **sorted = malloc(m * sizeof(*sorted));
		const char *path;
		FILE *f = sorted ? kq_plot_data(pl, &path) : NULL;
		if (!f) {
			free(sorted);
			return -1;
		}
		if (prev && strcmp(prev, line_rest(lkey)) != 0)
			color_idx++;
		prev = line_rest(lkey);
		for (size_t j = 0; j < m; j++)
			sorted[j] = json_array_get(counts, j);
		qsort(sorted, m, sizeof(*sorted), cmp_real);
		struct kq_pool *first = NULL;
		bool stats = false;
		for (size_t j = 0; j < m; j++) {
			struct kq_buf k = KQ_BUF_INIT;
			kq_buf_printf(&k, "%s" SEP "%.17g", lkey, json_real_value(sorted[j]));
			struct kq_pool *pool = kq_pools_find(&c->pools, kq_buf_str(&k));
			kq_buf_free(&k);
			if (!pool)
				continue;
			if (!first)
				first = pool;
			stats = pool->has_stats;
			double y = kq_pool_center(pool),
			       top = pool->has_stats ? pool->stats.p99 : y;
			fprintf(f, "%.9g\t%.9g\t%.9g\n", json_real_value(sorted[j]), y, top);
		}
		free(sorted);
		if (fclose(f) != 0 || !first)
			return -1;
		struct kq_buf t = KQ_BUF_INIT;
		line_title(&t, rs, first);
		if (i)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_puts(s, stats ? " using 1:2:2:3 with yerrorlines"
				     : " using 1:2 with linespoints");
		kq_buf_printf(s, " lw 2 pt 7 ps 1.1 lc rgb '%s' dt %zu title ",
			      kq_run_color(color_idx), rs->n > 1 ? (first->run % 5) + 1 : 1);
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
	}
	kq_buf_putc(s, '\n');
	return s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct collect c = {.lines = json_object(), .order = json_array()};
	json_t *units = json_object(), *uorder = json_array();
	int rc = kq_foreach_metric(rs, collect, &c);
	size_t i, per = kq_plotter_max_series(p), charts = 0, skipped = 0;
	struct kq_plot *last = NULL;
	json_t *v;

	if (!rc)
		rc = kq_pools_finish(&c.pools);
	if (rs->n > 1 && per >= rs->n)
		per -= per % rs->n; /* a line's runs stay on one page */
	/* Lines with two or more vCPU counts, by unit, one line's runs together. */
	json_t *by_rest = json_object(), *rest_order = json_array();
	json_array_foreach(c.order, i, v)
	{
		const char *lkey = json_string_value(v);
		if (json_array_size(json_object_get(c.lines, lkey)) < 2)
			continue;
		json_t *arr = json_object_get(by_rest, line_rest(lkey));
		if (!arr) {
			arr = json_array();
			json_object_set_new(by_rest, line_rest(lkey), arr);
			json_array_append_new(rest_order, json_string(line_rest(lkey)));
		}
		json_array_append(arr, v);
	}
	json_array_foreach(rest_order, i, v)
	{
		json_t *group = json_object_get(by_rest, json_string_value(v));
		const char *lkey = json_string_value(json_array_get(group, 0));
		char unit[64];
		snprintf(unit, sizeof(unit), "%.*s", (int)(strstr(lkey, SEP) - lkey), lkey);
		json_t *arr = json_object_get(units, unit);
		if (!arr) {
			arr = json_array();
			json_object_set_new(units, unit, arr);
			json_array_append_new(uorder, json_string(unit));
		}
		json_array_extend(arr, group);
	}
	json_array_foreach(uorder, i, v)
	{
		const char *unit = json_string_value(v);
		json_t *lines = json_object_get(units, unit);
		size_t n = json_array_size(lines), npages = (n + per - 1) / per;
		for (size_t pg = 0; !rc && pg < npages; pg++) {
			size_t first = pg * per, count = n - first > per ? per : n - first;
			if (charts >= kq_plotter_max_charts(p)) {
				skipped += count;
				continue;
			}
			json_t *page = json_array();
			for (size_t j = first; j < first + count; j++)
				json_array_append(page, json_array_get(lines, j));
			rc = render_chart(rs, p, &c, unit, page, pg, npages, &last);
			json_decref(page);
			charts++;
		}
	}
	if (!rc && skipped && last)
		kq_plot_note(last, "%zu more scaling lines are not drawn (the tables list them).",
			     skipped);
	collect_free(&c);
	json_decref(by_rest);
	json_decref(rest_order);
	json_decref(units);
	json_decref(uorder);
	return rc;
}

const struct kq_chart_kind kq_chart_scaling = {
    .id = "scaling",
    .summary = "metrics against the number of vCPUs running at once (labels.vcpus)",
    .has_data = has_data,
    .render = render,
};
