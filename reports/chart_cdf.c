/* Latency distributions: the empirical CDF of latency samples. Exit kinds
 * share one chart per unit (time units preferred over cycles), one line per
 * kind, handling path and run; other latency metrics (first touch, VM
 * creation...) get a chart per metric name. Metrics of more than one vCPU
 * at once are left to the scaling chart. */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"
#include "reports/results_load.h"

#define SEP	   "\x1f"
#define MAX_POINTS 1000 /* per line: larger sample sets are drawn at quantiles */

static bool qualifies(json_t *test, json_t *metric)
{
	return json_array_size(json_object_get(metric, "samples")) >= 2 &&
	       kq_unit_is_latency(kq_jstr(metric, "unit", "")) &&
	       kq_label_num(metric, "vcpus", 1) <= 1;
}

static bool has_data(const struct kq_runset *rs)
{
	return kq_any_metric(rs, qualifies);
}

struct collect {
	bool kinds_in_time; /* some exit kind is measured in a time unit */
	json_t *cats;	    /* category map for kinds shared by several tests */
	json_t *groups;	    /* group key -> array of line keys, in order */
	json_t *gorder;	    /* group keys in order */
	struct kq_pools pools;
	int pass;
	bool pooled; /* too many tests per kind: one line per kind */
};

static const char *const line_skip[] = {"vcpu", "repeat", "batch_size", "iterations", NULL};

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	char buf[64];
	if (!qualifies(test, metric))
		return 0;
	const char *unit = kq_jstr(metric, "unit", "");
	const char *kind = kq_label(metric, "kind", buf, sizeof(buf));
	if (c->pass == 0) {
		if (kind && kq_time_unit_ns(unit) > 0)
			c->kinds_in_time = true;
		if (kind)
			kq_category_note(c->cats, kind, test);
		return 0;
	}
	if (kind && !kq_time_unit_ns(unit) && c->kinds_in_time)
		return 0; /* cycles duplicate the time chart */
	struct kq_buf g = KQ_BUF_INIT, k = KQ_BUF_INIT;
	if (kind) {
		kq_buf_printf(&g, "%s" SEP "exit kinds", unit);
		kq_buf_printf(&k, "%s" SEP "%zu" SEP, kq_buf_str(&g), run);
		kq_category_label(c->cats, kind, test, c->pooled, &k);
		kq_buf_printf(&k, SEP "%s", kq_metric_handled_in(metric));
	} else {
		kq_buf_printf(&g, "%s" SEP "%s", unit, kq_jstr(metric, "name", "?"));
		kq_buf_printf(&k, "%s" SEP "%zu" SEP "%s" SEP, kq_buf_str(&g), run,
			      kq_jstr(test, "name", ""));
		kq_labels_fmt(&k, metric, line_skip, ",");
	}
	json_t *arr = json_object_get(c->groups, kq_buf_str(&g));
	if (!arr) {
		arr = json_array();
		json_object_set_new(c->groups, kq_buf_str(&g), arr);
		json_array_append_new(c->gorder, json_string(kq_buf_str(&g)));
	}
	if (!kq_pools_find(&c->pools, kq_buf_str(&k)))
		json_array_append_new(arr, json_string(kq_buf_str(&k)));
	kq_pools_add(&c->pools, kq_buf_str(&k), run, test, metric);
	int rc = (g.failed || k.failed || c->pools.failed) ? -1 : 0;
	kq_buf_free(&g);
	kq_buf_free(&k);
	return rc;
}

/* What a line key says after its group and run (UNIT SEP WHAT SEP RUN SEP REST):
 * the same line in another run. */
static const char *line_rest(const char *key)
{
	const char *p = key;
	for (int i = 0; i < 3 && p; i++) {
		p = strstr(p, SEP);
		p = p ? p + 1 : NULL;
	}
	return p ? p : key;
}

/* "A: pio (handled in userspace)" or "A: memory.first-touch [backing=anon]" */
static void line_title(struct kq_buf *t, const struct kq_runset *rs, const struct kq_pool *pool,
		       const struct collect *c, bool kinds)
{
	char buf[64];
	if (rs->n > 1)
		kq_buf_printf(t, "%s: ", rs->runs[pool->run].label);
	if (kinds) {
		kq_category_label(c->cats, kq_label(pool->metric, "kind", buf, sizeof(buf)),
				  pool->test, c->pooled, t);
		const char *h = kq_metric_handled_in(pool->metric);
		if (*h)
			kq_buf_printf(t, " (%s)", kq_handled_title(h));
		return;
	}
	kq_buf_puts(t, kq_jstr(pool->test, "name", "?"));
	size_t mark = t->len;
	kq_buf_puts(t, " [");
	size_t before = t->len;
	kq_labels_fmt(t, pool->metric, line_skip, ", ");
	if (t->len == before) {
		t->len = mark;
		t->p[mark] = '\0';
	} else {
		kq_buf_putc(t, ']');
	}
}

static int render_chart(const struct kq_runset *rs, struct kq_plotter *p, struct collect *c,
			const char *gkey, json_t *keys, size_t first, size_t count, size_t page,
			size_t npages, const char *id, struct kq_plot **made)
{
	const char *what = strstr(gkey, SEP) + 1;
	bool kinds = strcmp(what, "exit kinds") == 0;
	char unit[32], title[192];

	snprintf(unit, sizeof(unit), "%.*s", (int)(what - 1 - gkey), gkey);
	if (kinds)
		snprintf(title, sizeof(title), "Exit latency distribution (%s)", unit);
	else
		snprintf(title, sizeof(title), "Distribution of %s (%s)", what, unit);
	if (npages > 1)
		snprintf(title + strlen(title), sizeof(title) - strlen(title), ", part %zu of %zu",
			 page + 1, npages);
	struct kq_plot *pl = kq_plot_new(p, id, title, 0);
	if (!pl)
		return -1;
	*made = pl;
	if (kinds && c->pooled)
		kq_plot_note(pl, "Several tests measured the same exit kinds: their samples are "
				 "pooled per kind.");

	double lo = INFINITY, hi = 0;
	for (size_t i = first; i < first + count; i++) {
		struct kq_pool *pool =
		    kq_pools_find(&c->pools, json_string_value(json_array_get(keys, i)));
		qsort(pool->samples, pool->n, sizeof(double), kq_cmp_double);
		if (pool->n && pool->samples[0] > 0 && pool->samples[0] < lo)
			lo = pool->samples[0];
		if (pool->n && pool->samples[pool->n - 1] > hi)
			hi = pool->samples[pool->n - 1];
	}
	struct kq_buf *s = kq_plot_script(pl);
	struct kq_buf xl = KQ_BUF_INIT;
	kq_axis_label(&xl, kq_time_unit_ns(unit) > 0 ? "latency" : "per operation", unit);
	kq_buf_puts(s, "set xlabel ");
	kq_gp_str(s, kq_buf_str(&xl));
	kq_buf_free(&xl);
	kq_buf_puts(s, "\nset ylabel 'fraction of samples at or below (CDF)'\n");
	kq_plot_cmd(pl, "set yrange [0:1.02]");
	kq_plot_cmd(pl, "set key inside right bottom");
	if (hi > 0 && lo < INFINITY && hi / lo > 20)
		kq_plot_cmd(pl, "set logscale x");
	kq_buf_puts(s, "plot ");
	size_t color_idx = 0;
	const char *prev_rest = NULL;
	for (size_t i = first; i < first + count; i++) {
		const char *key = json_string_value(json_array_get(keys, i));
		struct kq_pool *pool = kq_pools_find(&c->pools, key);
		if (prev_rest && strcmp(prev_rest, line_rest(key)) != 0)
			color_idx++;
		prev_rest = line_rest(key);
		const char *path;
		FILE *f = kq_plot_data(pl, &path);
		if (!f)
			return -1;
		size_t n = pool->n, pts = n > MAX_POINTS ? MAX_POINTS : n;
		for (size_t k = 0; k < pts; k++) {
			/* the k-th drawn point: the order statistic of rank r (0-based) */
			size_t r =
			    pts == n
				? k
				: (size_t)llround((double)k * (double)(n - 1) / (double)(pts - 1));
			fprintf(f, "%.9g\t%.6g\n", pool->samples[r], (double)(r + 1) / (double)n);
		}
		if (fclose(f) != 0)
			return -1;
		/* one colour per line; when overlaying runs, one colour per kind
		 * and one dash pattern per run (A solid), else dashes tell
		 * userspace-handled exits from kernel-handled ones */
		const char *h = kq_metric_handled_in(pool->metric);
		int dt = rs->n > 1 ? (int)(pool->run % 5) + 1 : strcmp(h, "userspace") == 0 ? 2 : 1;
		const char *color = kq_run_color(color_idx);
		struct kq_buf t = KQ_BUF_INIT;
		line_title(&t, rs, pool, c, kinds);
		if (i > first)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(s, " using 1:2 with steps lw 2 dt %d lc rgb '%s' title ", dt, color);
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
	}
	kq_buf_putc(s, '\n');
	return s->failed ? -1 : 0;
}

/* The lines of a group reordered so that one kind's lines from every run
 * sit next to each other (and so on one page). */
static json_t *runs_together(json_t *keys)
{
	json_t *by = json_object(), *order = json_array(), *out = json_array(), *k;
	size_t i;
	json_array_foreach(keys, i, k)
	{
		const char *key = json_string_value(k);
		const char *rest = line_rest(key);
		json_t *arr = json_object_get(by, rest);
		if (!arr) {
			arr = json_array();
			json_object_set_new(by, rest, arr);
			json_array_append_new(order, json_string(rest));
		}
		json_array_append(arr, k);
	}
	json_array_foreach(order, i, k)
	    json_array_extend(out, json_object_get(by, json_string_value(k)));
	json_decref(by);
	json_decref(order);
	return out;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct collect c = {.cats = json_object(), .groups = json_object(), .gorder = json_array()};
	int rc = kq_foreach_metric(rs, collect, &c);
	size_t max = kq_plotter_max_charts(p), per = kq_plotter_max_series(p), charts = 0, left = 0;
	struct kq_plot *last = NULL;

	if (!rc) {
		c.pass = 1;
		c.pooled = kq_category_count(c.cats) > 2 * per;
		rc = kq_foreach_metric(rs, collect, &c);
	}
	/* With several runs, keep a kind's lines from every run on one page. */
	if (rs->n > 1 && per >= rs->n)
		per -= per % rs->n;
	size_t i;
	json_t *g;
	json_array_foreach(c.gorder, i, g)
	{
		const char *gkey = json_string_value(g);
		json_t *keys = json_object_get(c.groups, gkey);
		size_t n = json_array_size(keys), npages = (n + per - 1) / per;
		json_t *ordered = runs_together(keys);
		if (!ordered) {
			rc = -1;
			break;
		}
		for (size_t pg = 0; !rc && pg < npages; pg++) {
			size_t first = pg * per, count = n - first > per ? per : n - first;
			if (charts >= max) {
				left += count;
				continue;
			}
			char id[32];
			snprintf(id, sizeof(id), "%zu", charts + 1);
			rc = render_chart(rs, p, &c, gkey, ordered, first, count, pg, npages, id,
					  &last);
			charts++;
		}
		json_decref(ordered);
	}
	if (!rc && left && last)
		kq_plot_note(last, "%zu more distributions are not drawn (the tables list them).",
			     left);
	kq_pools_free(&c.pools);
	json_decref(c.cats);
	json_decref(c.groups);
	json_decref(c.gorder);
	return rc;
}

const struct kq_chart_kind kq_chart_latency_cdf = {
    .id = "latency-cdf",
    .summary = "distribution (CDF) of latency samples: exit kinds together, other latency "
	       "metrics one chart each",
    .has_data = has_data,
    .render = render,
};
