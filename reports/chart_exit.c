/* Exit latency per kind: the median of each exit kind with a whisker up to
 * the p99, kernel- and userspace-handled exits told apart by colour (one
 * run) or point shape (overlaid runs). One chart per unit (ns, cycles). */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/results_load.h"

#define MAX_CATEGORIES 24

static bool qualifies(json_t *test, json_t *metric)
{
	char buf[64];
	return kq_label(metric, "kind", buf, sizeof(buf)) && kq_metric_has_stats(metric) &&
	       kq_unit_is_latency(kq_jstr(metric, "unit", "")) &&
	       kq_label_num(metric, "vcpus", 1) <= 1;
}

static bool has_data(const struct kq_runset *rs)
{
	return kq_any_metric(rs, qualifies);
}

struct collect {
	const char *unit; /* NULL: collecting units */
	json_t *units;	  /* array of unit names in order of appearance */
	json_t *cats;	  /* category map (kq_category_note) */
	bool pooled;	  /* too many tests per kind: one category per kind */
	json_t *catorder; /* array of category labels */
	json_t *series;	  /* array of "run\x1fhandled_in" */
	json_t *seen;	  /* set of the above, both */
	struct kq_pools pools;
};

static int collect_units(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	char buf[64];
	if (!qualifies(test, metric))
		return 0;
	const char *unit = kq_jstr(metric, "unit", "");
	size_t i;
	json_t *u;
	json_array_foreach(c->units, i, u)
	{
		if (strcmp(json_string_value(u), unit) == 0)
			goto seen;
	}
	json_array_append_new(c->units, json_string(unit));
seen:
	kq_category_note(c->cats, kq_label(metric, "kind", buf, sizeof(buf)), test);
	return 0;
}

static void append_unique(json_t *arr, json_t *seen, const char *s)
{
	if (json_object_get(seen, s))
		return;
	json_object_set_new(seen, s, json_true());
	json_array_append_new(arr, json_string(s));
}

static int collect_unit(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	char buf[64];
	if (!qualifies(test, metric) || strcmp(kq_jstr(metric, "unit", ""), c->unit) != 0)
		return 0;
	struct kq_buf cat = KQ_BUF_INIT, key = KQ_BUF_INIT, ser = KQ_BUF_INIT;
	kq_category_label(c->cats, kq_label(metric, "kind", buf, sizeof(buf)), test, c->pooled,
			  &cat);
	const char *h = kq_metric_handled_in(metric);
	kq_buf_printf(&ser, "%zu\x1f%s", run, h);
	kq_buf_printf(&key, "%s\x1f%s", kq_buf_str(&ser), kq_buf_str(&cat));
	append_unique(c->catorder, c->seen, kq_buf_str(&cat));
	append_unique(c->series, c->seen, kq_buf_str(&ser));
	kq_pools_add(&c->pools, kq_buf_str(&key), run, test, metric);
	int rc = (cat.failed || key.failed || ser.failed) ? -1 : 0;
	kq_buf_free(&cat);
	kq_buf_free(&key);
	kq_buf_free(&ser);
	return rc;
}

static int render_unit(const struct kq_runset *rs, struct kq_plotter *p, struct collect *c)
{
	size_t ncat = json_array_size(c->catorder), nser = json_array_size(c->series);
	size_t maxser = kq_plotter_max_series(p);
	bool multi = rs->n > 1;
	char title[128];

	if (!ncat || !nser)
		return 0;
	size_t allcat = ncat;
	if (ncat > MAX_CATEGORIES)
		ncat = MAX_CATEGORIES;
	snprintf(title, sizeof(title), "Exit latency by kind (%s): median, whisker to p99",
		 c->unit);
	struct kq_plot *pl = kq_plot_new(p, c->unit, title, ncat > 10 ? KQ_PLOT_WIDE : 0);
	if (!pl)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	struct kq_buf ylabel = KQ_BUF_INIT;
	kq_axis_label(&ylabel, strcmp(c->unit, "cycles") == 0 ? "per exit" : "latency per exit",
		      c->unit);
	kq_buf_puts(s, "set xlabel 'exit kind'\nset ylabel ");
	kq_gp_str(s, kq_buf_str(&ylabel));
	kq_buf_free(&ylabel);
	kq_buf_puts(s, "\nset xtics (");
	for (size_t i = 0; i < ncat; i++) {
		if (i)
			kq_buf_puts(s, ", ");
		kq_gp_str(s, json_string_value(json_array_get(c->catorder, i)));
		kq_buf_printf(s, " %zu", i);
	}
	kq_buf_puts(s, ")");
	if (ncat > 6)
		kq_buf_puts(s, " rotate by -35");
	kq_buf_putc(s, '\n');
	kq_plot_cmd(pl, "set xrange [-0.6:%g]", (double)ncat - 0.4);
	kq_plot_cmd(pl, "set grid noxtics");

	if (c->pooled)
		kq_plot_note(pl, "Several tests measured the same exit kinds: their samples are "
				 "pooled per kind (the tables list each test).");
	if (allcat > ncat)
		kq_plot_note(pl, "%zu of %zu exit kinds drawn (the tables list all).", ncat,
			     allcat);
	if (nser > maxser) {
		kq_plot_note(pl, "%zu of %zu series drawn.", maxser, nser);
		nser = maxser;
	}
	/* The scale first: a log axis when medians and tails span a wide range. */
	double lo = INFINITY, hi = 0;
	for (size_t i = 0; i < c->pools.n; i++) {
		const struct kq_pool *pool = &c->pools.v[i];
		if (!pool->has_stats)
			continue;
		if (pool->stats.median > 0 && pool->stats.median < lo)
			lo = pool->stats.median;
		if (pool->stats.p99 > hi)
			hi = pool->stats.p99;
	}
	if (hi > 0 && lo < INFINITY && hi / lo > 50)
		kq_plot_cmd(pl, "set logscale y");
	else
		kq_plot_cmd(pl, "set yrange [0:*]");

	double width = 0.7 / (double)nser;
	kq_buf_puts(s, "plot ");
	for (size_t si = 0; si < nser; si++) {
		const char *ser = json_string_value(json_array_get(c->series, si));
		size_t run = (size_t)strtoul(ser, NULL, 10);
		const char *h = strchr(ser, '\x1f') + 1;
		const char *path;
		FILE *f = kq_plot_data(pl, &path);
		if (!f)
			return -1;
		for (size_t ci = 0; ci < ncat; ci++) {
			struct kq_buf key = KQ_BUF_INIT;
			kq_buf_printf(&key, "%s\x1f%s", ser,
				      json_string_value(json_array_get(c->catorder, ci)));
			struct kq_pool *pool = kq_pools_find(&c->pools, kq_buf_str(&key));
			kq_buf_free(&key);
			if (!pool || !pool->has_stats)
				continue;
			double x = (double)ci + ((double)si - (double)(nser - 1) / 2) * width;
			fprintf(f, "%.6g\t%.9g\t%.9g\t%.9g\n", x, pool->stats.median,
				pool->stats.p99, pool->stats.min);
		}
		if (fclose(f) != 0)
			return -1;
		struct kq_buf t = KQ_BUF_INIT;
		if (multi)
			kq_buf_printf(&t, "%s: %s", rs->runs[run].label, kq_handled_title(h));
		else
			kq_buf_puts(&t, kq_handled_title(h));
		if (si)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(
		    s, " using 1:2:2:3 with yerrorbars lc rgb '%s' pt %d ps 1.4 lw 1.5 title ",
		    multi ? kq_run_color(run) : kq_handled_color(h), kq_handled_point(h));
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
	}
	kq_buf_putc(s, '\n');
	return s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct collect c = {.units = json_array(), .cats = json_object()};
	int rc = kq_foreach_metric(rs, collect_units, &c);
	size_t i;
	json_t *u;

	/* Time units first; cycles only when no time unit was measured (the
	 * same exits again), other units after. */
	json_t *units = json_array();
	bool time = false;
	c.pooled = kq_category_count(c.cats) > MAX_CATEGORIES;
	json_array_foreach(c.units, i, u)
	{
		if (kq_time_unit_ns(json_string_value(u)) > 0) {
			json_array_append(units, u);
			time = true;
		}
	}
	json_array_foreach(c.units, i, u)
	{
		const char *name = json_string_value(u);
		if (kq_time_unit_ns(name) == 0 && !(time && strcmp(name, "cycles") == 0))
			json_array_append(units, u);
	}
	json_array_foreach(units, i, u)
	{
		if (rc || i >= kq_plotter_max_charts(p))
			break;
		c.unit = json_string_value(u);
		c.catorder = json_array();
		c.series = json_array();
		c.seen = json_object();
		memset(&c.pools, 0, sizeof(c.pools));
		rc = kq_foreach_metric(rs, collect_unit, &c);
		if (!rc)
			rc = kq_pools_finish(&c.pools);
		if (!rc)
			rc = render_unit(rs, p, &c);
		kq_pools_free(&c.pools);
		json_decref(c.catorder);
		json_decref(c.series);
		json_decref(c.seen);
	}
	json_decref(units);
	json_decref(c.units);
	json_decref(c.cats);
	return rc;
}

const struct kq_chart_kind kq_chart_exit_latency = {
    .id = "exit-latency",
    .summary = "median exit latency per exit kind with a whisker to the p99, kernel- and "
	       "userspace-handled exits distinguished",
    .has_data = has_data,
    .render = render,
};
