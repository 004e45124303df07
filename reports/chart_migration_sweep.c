/* The shaped-link sweep (evidence.migration_sweep of a migration-sweep
 * test): downtime, and total time, against the guest's dirty rate, one line
 * per link bandwidth; a cell that did not converge is marked with a cross
 * on the x axis (it has no downtime; its total time is the time to the
 * verdict). */
#include "reports/chart_plot.h"

#include <string.h>

#include "reports/results_load.h"

static json_t *cells_of(json_t *test)
{
	json_t *s = json_object_get(json_object_get(test, "evidence"), "migration_sweep");
	json_t *c = json_object_get(s, "cells");
	return json_array_size(c) ? c : NULL;
}

static bool has_data(const struct kq_runset *rs)
{
	for (size_t r = 0; r < rs->n; r++) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(rs->runs[r].root, "tests"), i,
				   t) if (cells_of(t)) return true;
	}
	return false;
}

/* One chart of `key` (downtime_ms or total_s) for one sweep. */
static int chart(const struct kq_runset *rs, struct kq_plotter *p, size_t r, json_t *t,
		 json_t *cells, const char *key)
{
	bool down = strcmp(key, "downtime_ms") == 0;
	struct kq_buf title = KQ_BUF_INIT, suffix = KQ_BUF_INIT;
	kq_buf_printf(&title, "Migration sweep %s%s%s: %s against dirty rate, per link bandwidth",
		      rs->n > 1 ? rs->runs[r].label : "", rs->n > 1 ? ": " : "",
		      kq_jstr(t, "name", "?"), down ? "host-side downtime" : "total time");
	kq_buf_printf(&suffix, "%zu-%s-%s", r, kq_jstr(t, "name", "?"),
		      down ? "downtime" : "total");
	struct kq_plot *pl = kq_plot_new(p, kq_buf_str(&suffix), kq_buf_str(&title), 0);
	kq_buf_free(&title);
	kq_buf_free(&suffix);
	if (!pl)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_plot_cmd(pl, "set xlabel 'guest dirty rate (pages/s, log scale)'\nset logscale x 10");
	kq_plot_cmd(pl, down ? "set ylabel 'downtime (ms)'" : "set ylabel 'total time (s)'");
	kq_plot_cmd(pl, "set yrange [0:*]\nset grid xtics ytics\nset key outside below");
	/* one data file per bandwidth, in the order the cells list them */
	json_t *bws = json_array();
	size_t i, k;
	json_t *c, *b;
	json_array_foreach(cells, i, c)
	{
		double bw = kq_jnum(c, "bandwidth_mbit", 0);
		bool seen = false;
		json_array_foreach(bws, k, b) seen |= json_real_value(b) == bw;
		if (!seen)
			json_array_append_new(bws, json_real(bw));
	}
	kq_buf_puts(s, "plot ");
	int rc = 0;
	size_t max = kq_plotter_max_series(p), series = 0;
	json_array_foreach(bws, k, b)
	{
		if (k >= max)
			break;
		const char *path, *xpath;
		FILE *f = kq_plot_data(pl, &path);
		FILE *x = f ? kq_plot_data(pl, &xpath) : NULL;
		if (!x) {
			if (f)
				fclose(f);
			rc = -1;
			break;
		}
		size_t stuck = 0, done = 0;
		json_array_foreach(cells, i, c)
		{
			if (kq_jnum(c, "bandwidth_mbit", 0) != json_real_value(b))
				continue;
			double rate = kq_jnum(c, "dirty_rate_pps", 0);
			if (json_is_true(json_object_get(c, "converged"))) {
				fprintf(f, "%.9g\t%.9g\n", rate, kq_jnum(c, key, 0));
				done++;
			} else {
				fprintf(x, "%.9g\t%.9g\n", rate, down ? 0 : kq_jnum(c, key, 0));
				stuck++;
			}
		}
		if (fclose(f) != 0 || fclose(x) != 0) {
			rc = -1;
			break;
		}
		char label[64];
		if (done) { /* gnuplot refuses a file without points */
			snprintf(label, sizeof(label), "%.0f Mbit/s", json_real_value(b));
			kq_buf_puts(s, series++ ? ", \\\n     " : "");
			kq_gp_str(s, path);
			kq_buf_printf(s, " using 1:2 with linespoints lw 2 pt 7 lc rgb '%s' title ",
				      kq_run_color(k));
			kq_gp_str(s, label);
		}
		if (stuck) {
			snprintf(label, sizeof(label), "%.0f Mbit/s: did not converge (%zu)",
				 json_real_value(b), stuck);
			kq_buf_puts(s, series++ ? ", \\\n     " : "");
			kq_gp_str(s, xpath);
			kq_buf_printf(s, " using 1:2 with points pt 2 ps 2 lw 2 lc rgb '%s' title ",
				      kq_run_color(k));
			kq_gp_str(s, label);
		}
	}
	kq_buf_putc(s, '\n');
	if (json_array_size(bws) > max)
		kq_plot_note(pl, "%zu more bandwidths are not drawn (the evidence lists them).",
			     json_array_size(bws) - max);
	json_decref(bws);
	return rc || s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	size_t n = 0;
	for (size_t r = 0; r < rs->n; r++) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(rs->runs[r].root, "tests"), i, t)
		{
			json_t *cells = cells_of(t);
			if (!cells || n++ >= kq_plotter_max_charts(p))
				continue;
			if (chart(rs, p, r, t, cells, "downtime_ms") < 0 ||
			    chart(rs, p, r, t, cells, "total_s") < 0)
				return -1;
		}
	}
	return 0;
}

const struct kq_chart_kind kq_chart_migration_sweep = {
    .id = "migration-sweep",
    .summary = "shaped-link sweep: downtime and total time against dirty rate, one line per "
	       "bandwidth, non-converging cells marked",
    .has_data = has_data,
    .render = render,
};
