/* Live migration: per migration, the pages each pre-copy pass sent, the
 * pages dirtied meanwhile and the bandwidth (log y on the left, MB/s on the
 * right), and the host-side downtime of every migration that completed as
 * a stacked bar of its parts, with the downtime the guest's heartbeat saw
 * beside it. Both read the evidence a migration test keeps
 * (evidence.migration, see docs/migration.md). */
#include "reports/chart_plot.h"

#include <math.h>
#include <string.h>

#include "reports/results_load.h"

static json_t *evidence(json_t *test)
{
	json_t *m = json_object_get(json_object_get(test, "evidence"), "migration");
	return json_is_array(json_object_get(m, "iteration")) ? m : NULL;
}

static bool migrated(json_t *m)
{
	return m && strcmp(kq_jstr(m, "status", ""), "migrated") == 0;
}

/* Calls fn for every migration test of every run, in order. */
static int each(const struct kq_runset *rs, int (*fn)(size_t, json_t *, json_t *, void *),
		void *ctx)
{
	for (size_t r = 0; r < rs->n; r++) {
		size_t i;
		json_t *t;
		json_array_foreach(json_object_get(rs->runs[r].root, "tests"), i, t)
		{
			json_t *m = evidence(t);
			int rc = m ? fn(r, t, m, ctx) : 0;
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int found(size_t r, json_t *t, json_t *m, void *ctx)
{
	bool need_migrated = *(bool *)ctx;
	return !need_migrated || migrated(m);
}

static bool has_iterations(const struct kq_runset *rs)
{
	bool any = false;
	return each(rs, found, &any) != 0;
}

static bool has_downtime(const struct kq_runset *rs)
{
	bool need = true;
	return each(rs, found, &need) != 0;
}

static void test_label(const struct kq_runset *rs, size_t r, json_t *t, struct kq_buf *b)
{
	if (rs->n > 1)
		kq_buf_printf(b, "%s: ", rs->runs[r].label);
	kq_buf_puts(b, kq_jstr(t, "name", "?"));
}

struct iter_ctx {
	const struct kq_runset *rs;
	struct kq_plotter *p;
	size_t charts;
	int rc;
};

static void value_or_nan(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "\t%.9g", v);
	else
		fputs("\tNaN", f); /* log scale: a zero is not drawn */
}

static int iter_chart(size_t r, json_t *t, json_t *m, void *ctx)
{
	struct iter_ctx *c = ctx;
	if (c->charts++ >= kq_plotter_max_charts(c->p))
		return 0;
	struct kq_buf name = KQ_BUF_INIT, title = KQ_BUF_INIT, suffix = KQ_BUF_INIT;
	test_label(c->rs, r, t, &name);
	kq_buf_printf(&title, "Migration %s (%s): pages and bandwidth per pass", kq_buf_str(&name),
		      kq_jstr(m, "status", "?"));
	kq_buf_printf(&suffix, "%zu-%s", r, kq_jstr(t, "name", "?"));
	struct kq_plot *pl = kq_plot_new(c->p, kq_buf_str(&suffix), kq_buf_str(&title), 0);
	kq_buf_free(&name);
	kq_buf_free(&title);
	kq_buf_free(&suffix);
	const char *path;
	FILE *f = pl ? kq_plot_data(pl, &path) : NULL;
	if (!f)
		return c->rc = -1;
	size_t i;
	json_t *it;
	json_t *its = json_object_get(m, "iteration");
	json_array_foreach(its, i, it)
	{
		fprintf(f, "%zu", i);
		value_or_nan(f, kq_jnum(it, "pages", 0));
		value_or_nan(f, kq_jnum(it, "dirty_pages", 0));
		fprintf(f, "\t%.9g\n", kq_jnum(it, "bandwidth_Bps", 0) / 1e6);
	}
	if (fclose(f) != 0)
		return c->rc = -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_plot_cmd(pl, "set xlabel 'pass (the last one: the source paused)'");
	kq_plot_cmd(pl, "set ylabel 'pages (log scale)'\nset logscale y 10");
	kq_plot_cmd(pl, "set y2label 'bandwidth (MB/s)'\nset y2tics\nset ytics nomirror");
	kq_plot_cmd(pl, "set y2range [0:*]\nset xtics 1\nset grid ytics");
	kq_plot_cmd(pl, "set xrange [-0.6:%.1f]",
		    (double)json_array_size(json_object_get(m, "iteration")) - 0.4);
	kq_plot_cmd(pl, "set key outside below\nset style fill solid 0.5");
	kq_plot_cmd(pl, "set boxwidth 0.4");
	kq_buf_puts(s, "plot ");
	kq_gp_str(s, path);
	kq_buf_printf(s, " using ($1-0.2):2 with boxes lc rgb '%s' title 'pages sent', \\\n     ",
		      kq_run_color(0));
	kq_gp_str(s, path);
	kq_buf_printf(s,
		      " using ($1+0.2):3 with boxes lc rgb '%s' title 'pages dirtied during the "
		      "pass', \\\n     ",
		      kq_run_color(1));
	kq_gp_str(s, path);
	kq_buf_printf(s,
		      " using 1:4 axes x1y2 with linespoints lw 2 pt 7 lc rgb '%s' title "
		      "'bandwidth (MB/s)'\n",
		      kq_run_color(2));
	if (json_array_size(its) == 0)
		kq_plot_note(pl, "no pass completed");
	return s->failed ? (c->rc = -1) : 0;
}

static int render_iterations(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct iter_ctx c = {.rs = rs, .p = p};
	each(rs, iter_chart, &c);
	if (!c.rc && c.charts > kq_plotter_max_charts(p))
		return 0; /* the plotter says what it left out */
	return c.rc;
}

/* The parts of the host-side downtime, in the order they happen. */
static const struct {
	const char *key, *title;
} parts[] = {
    {"pause_ms", "pause"},	     {"final_pass_ms", "final dirty pass"},
    {"state_save_ms", "state save"}, {"transfer_ms", "transfer"},
    {"state_load_ms", "state load"}, {"hash_wait_ms", "memory check wait"},
    {"resume_ms", "resume"},
};
#define NPARTS (sizeof(parts) / sizeof(parts[0]))

struct down_ctx {
	const struct kq_runset *rs;
	FILE *f;
	size_t bars, max;
	bool clamped;
};

static int down_row(size_t r, json_t *t, json_t *m, void *ctx)
{
	struct down_ctx *c = ctx;
	if (!migrated(m) || c->bars++ >= c->max)
		return 0;
	struct kq_buf name = KQ_BUF_INIT;
	test_label(c->rs, r, t, &name);
	kq_tsv_field(c->f, kq_buf_str(&name));
	kq_buf_free(&name);
	for (size_t i = 0; i < NPARTS; i++) {
		double v = kq_jnum(m, parts[i].key, 0);
		if (v < 0) { /* clocks of two processes: a part can come out below 0 */
			v = 0;
			c->clamped = true;
		}
		fprintf(c->f, "\t%.9g", v);
	}
	fprintf(c->f, "\t%.9g\t%.9g\n", kq_jnum(m, "guest_downtime_ms", 0),
		kq_jnum(m, "downtime_ms", 0));
	return 0;
}

static int render_downtime(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct kq_plot *pl = kq_plot_new(
	    p, "", "Migration downtime: host-side parts (stacked) and what the guest saw",
	    KQ_PLOT_WIDE | KQ_PLOT_TALL);
	const char *path;
	FILE *f = pl ? kq_plot_data(pl, &path) : NULL;
	if (!f)
		return -1;
	struct down_ctx c = {.rs = rs, .f = f, .max = 40};
	each(rs, down_row, &c);
	if (fclose(f) != 0)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_plot_cmd(pl, "set ylabel 'downtime (ms)'\nset yrange [0:*]\nset grid ytics");
	kq_plot_cmd(pl, "set style data histograms\nset style histogram rowstacked");
	kq_plot_cmd(pl, "set style fill solid 0.8 border -1\nset boxwidth 0.6");
	kq_plot_cmd(pl, "set xtics rotate by -30\nset key outside below maxcols 4");
	kq_buf_puts(s, "plot ");
	for (size_t i = 0; i < NPARTS; i++) {
		if (i)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(s, " using %zu%s lc rgb '%s' title ", i + 2,
			      i == 0 ? ":xticlabels(1)" : "", kq_run_color(i));
		kq_gp_str(s, parts[i].title);
	}
	kq_buf_puts(s, ", \\\n     ");
	kq_gp_str(s, path);
	kq_buf_printf(s,
		      " using 0:%zu with points pt 9 ps 2 lc rgb 'black' title 'guest-observed "
		      "(heartbeat)'\n",
		      NPARTS + 2);
	if (c.bars > c.max)
		kq_plot_note(pl, "%zu more migrations are not drawn (the tables list them).",
			     c.bars - c.max);
	if (c.clamped)
		kq_plot_note(pl, "a transfer part below zero (clock skew between the two "
				 "processes) is drawn as zero.");
	return s->failed ? -1 : 0;
}

const struct kq_chart_kind kq_chart_migration_iterations = {
    .id = "migration-iterations",
    .summary = "per migration: pages sent, pages dirtied and bandwidth of each pre-copy pass",
    .has_data = has_iterations,
    .render = render_iterations,
};

const struct kq_chart_kind kq_chart_migration_downtime = {
    .id = "migration-downtime",
    .summary = "migration downtime as a stacked bar of its parts (final pass, state save, "
	       "transfer, state load, memory check wait, resume) beside the guest-observed one",
    .has_data = has_downtime,
    .render = render_downtime,
};
