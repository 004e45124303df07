/* Memory: ns per access against working set (log-x), one chart per kernel
 * and host backing, the guest's curve for each guest page size and the
 * native curve on the same axes; the TLB-reach and cache knees show as steps.
 * Metrics labelled kernel, side, working_set, backing, page_size. */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/results_load.h"

#define SEP "\x1f"

static bool qualifies(json_t *test, json_t *metric)
{
	json_t *l = json_object_get(metric, "labels");
	return kq_metric_has_stats(metric) && json_object_get(l, "kernel") &&
	       json_object_get(l, "side") && json_object_get(l, "backing") &&
	       json_is_integer(json_object_get(l, "working_set"));
}

static bool has_data(const struct kq_runset *rs)
{
	return kq_any_metric(rs, qualifies);
}

static const char *lab(json_t *m, const char *k)
{
	return json_string_value(json_object_get(json_object_get(m, "labels"), k));
}

struct collect {
	json_t *charts; /* "kernel SEP backing" -> {line key -> {ws -> [median, p99]}} */
	json_t *order;	/* chart keys in order */
};

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	if (!qualifies(test, metric))
		return 0;
	char chart[128], line[160], ws[32];
	snprintf(chart, sizeof(chart), "%s" SEP "%s", lab(metric, "kernel"),
		 lab(metric, "backing"));
	bool native = strcmp(lab(metric, "side"), "native") == 0;
	/* The native curve depends on the backing alone: one line per run. */
	snprintf(line, sizeof(line), "%zu" SEP "%s" SEP "%s", run, native ? "native" : "guest",
		 native ? "" : (lab(metric, "page_size") ? lab(metric, "page_size") : "?"));
	snprintf(ws, sizeof(ws), "%lld",
		 (long long)json_integer_value(
		     json_object_get(json_object_get(metric, "labels"), "working_set")));
	json_t *ch = json_object_get(c->charts, chart);
	if (!ch) {
		ch = json_object();
		json_object_set_new(c->charts, chart, ch);
		json_array_append_new(c->order, json_string(chart));
	}
	json_t *ln = json_object_get(ch, line);
	if (!ln) {
		ln = json_object();
		json_object_set_new(ch, line, ln);
	}
	if (json_object_get(ln, ws))
		return 0; /* the same native point from another cell's test */
	json_t *st = json_object_get(metric, "stats");
	json_object_set_new(ln, ws,
			    json_pack("[f,f]", json_number_value(json_object_get(st, "median")),
				      json_number_value(json_object_get(st, "p99"))));
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return (x > y) - (x < y);
}

static int render_chart(const struct kq_runset *rs, struct kq_plotter *p, const char *key,
			json_t *lines)
{
	char kernel[64], backing[64], title[200], suffix[140];
	const char *sep = strstr(key, SEP);
	snprintf(kernel, sizeof(kernel), "%.*s", (int)(sep - key), key);
	snprintf(backing, sizeof(backing), "%s", sep + 1);
	snprintf(title, sizeof(title), "Memory %s: ns per access against working set, %s backing",
		 kernel, backing);
	snprintf(suffix, sizeof(suffix), "%s-%s", kernel, backing);
	size_t nlines = json_object_size(lines);
	struct kq_plot *pl = kq_plot_new(p, suffix, title, nlines > 3 ? KQ_PLOT_TALL : 0);
	if (!pl)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_plot_cmd(pl, "set xlabel 'working set (bytes, log scale)'");
	kq_plot_cmd(pl, "set ylabel 'ns per access (median; whisker: p99)'");
	kq_plot_cmd(pl, "set logscale x 2\nset logscale y 10\nset format x '%%.0b%%B'");
	kq_plot_cmd(pl, "set grid xtics ytics");
	kq_plot_cmd(pl, nlines > 3 ? "set key below left Left reverse maxcols 2"
				   : "set key inside left top");
	kq_buf_puts(s, "plot ");
	const char *lk;
	json_t *pts;
	size_t i = 0, max = kq_plotter_max_series(p), dropped = 0;
	json_object_foreach(lines, lk, pts)
	{
		if (i >= max) {
			dropped++;
			continue;
		}
		size_t n = json_object_size(pts), j = 0;
		long long *xs = malloc((n ? n : 1) * sizeof(*xs));
		const char *path, *wk;
		json_t *v;
		FILE *f = xs ? kq_plot_data(pl, &path) : NULL;
		if (!f) {
			free(xs);
			return -1;
		}
		json_object_foreach(pts, wk, v) xs[j++] = atoll(wk);
		qsort(xs, n, sizeof(*xs), cmp_ll);
		for (j = 0; j < n; j++) {
			char k[32];
			snprintf(k, sizeof(k), "%lld", xs[j]);
			json_t *pt = json_object_get(pts, k);
			fprintf(f, "%lld\t%.9g\t%.9g\n", xs[j],
				json_real_value(json_array_get(pt, 0)),
				json_real_value(json_array_get(pt, 1)));
		}
		free(xs);
		if (fclose(f) != 0)
			return -1;
		/* line key: run SEP side SEP page size */
		size_t run = (size_t)atoll(lk);
		const char *side = strstr(lk, SEP) + 1, *pg = strstr(side, SEP) + 1;
		bool native = strncmp(side, "native", 6) == 0;
		struct kq_buf t = KQ_BUF_INIT;
		if (rs->n > 1)
			kq_buf_printf(&t, "%s: ", rs->runs[run].label);
		if (native)
			kq_buf_puts(&t, "native (same backing)");
		else
			kq_buf_printf(&t, "guest, %s guest pages", pg);
		if (i)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(s,
			      " using 1:2:2:3 with yerrorlines lw 2 pt %d ps 1.0 lc rgb '%s' dt %d "
			      "title ",
			      native ? 6 : 7,
			      kq_run_color(native ? 7
						  : (size_t)(*pg == '4'	  ? 0
							     : *pg == '2' ? 1
									  : 2)),
			      native ? 2 : (int)(run % 5) + 1);
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
		i++;
	}
	kq_buf_putc(s, '\n');
	if (dropped)
		kq_plot_note(pl, "%zu more lines are not drawn (the tables list them).", dropped);
	return s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct collect c = {.charts = json_object(), .order = json_array()};
	int rc = kq_foreach_metric(rs, collect, &c);
	size_t i;
	json_t *v;
	/* The plotter keeps to its own chart limit and says what it left out. */
	json_array_foreach(c.order, i, v)
	{
		if (rc || i >= kq_plotter_max_charts(p))
			break;
		const char *key = json_string_value(v);
		rc = render_chart(rs, p, key, json_object_get(c.charts, key));
	}
	json_decref(c.charts);
	json_decref(c.order);
	return rc;
}

const struct kq_chart_kind kq_chart_memory_curves = {
    .id = "memory-curves",
    .summary = "ns per access against working set, guest per guest page size and native, one "
	       "chart per kernel and backing",
    .has_data = has_data,
    .render = render,
};
