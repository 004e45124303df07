/* The isolation measurements' charts: the covert-channel capacity per
 * placement (metrics "capacity_bps" labelled placement) as bars, and the
 * noisy-neighbour slowdowns (metrics "slowdown_p50"/"slowdown_p99" labelled
 * aggressor) as bars grouped by aggressor, one bar per percentile (and run). */
#include "reports/chart_plot.h"

#include <math.h>
#include <string.h>

#include "reports/results_load.h"

static bool is_iso(const json_t *test, const json_t *metric, const char *name)
{
	return strncmp(kq_jstr(test, "workload", ""), "iso.", 4) == 0 &&
	       strcmp(kq_jstr(metric, "name", ""), name) == 0 && kq_metric_has_value(metric);
}

static bool capacity_metric(json_t *test, json_t *metric)
{
	return is_iso(test, metric, "capacity_bps");
}

static bool slowdown_metric(json_t *test, json_t *metric)
{
	return is_iso(test, metric, "slowdown_p50") || is_iso(test, metric, "slowdown_p99");
}

static bool has_capacity(const struct kq_runset *rs)
{
	return kq_any_metric(rs, capacity_metric);
}

static bool has_slowdown(const struct kq_runset *rs)
{
	return kq_any_metric(rs, slowdown_metric);
}

/* Categories in first-seen order; values per (run, category, series). */
#define MAX_CATS 16
struct bars {
	bool (*pred)(json_t *test, json_t *metric);
	const char *label; /* the label that names the category */
	char cats[MAX_CATS][48];
	size_t ncats;
	double v[KQ_MAX_RUNS][MAX_CATS][2];
};

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct bars *b = ctx;
	if (!b->pred(test, metric))
		return 0;
	char buf[48];
	const char *cat = kq_label(metric, b->label, buf, sizeof(buf));
	if (!cat)
		cat = kq_jstr(test, "name", "?");
	size_t c = 0;
	while (c < b->ncats && strcmp(b->cats[c], cat))
		c++;
	if (c == b->ncats) {
		if (b->ncats == MAX_CATS)
			return 0;
		snprintf(b->cats[b->ncats++], sizeof(b->cats[0]), "%s", cat);
	}
	int series = strcmp(kq_jstr(metric, "name", ""), "slowdown_p99") == 0;
	b->v[run][c][series] = kq_jnum(metric, "value", NAN);
	return 0;
}

static void init_bars(struct bars *b)
{
	for (size_t r = 0; r < KQ_MAX_RUNS; r++)
		for (size_t c = 0; c < MAX_CATS; c++)
			b->v[r][c][0] = b->v[r][c][1] = NAN;
}

static void xtics(struct kq_buf *s, const struct bars *b)
{
	kq_buf_puts(s, "set xtics (");
	for (size_t i = 0; i < b->ncats; i++) {
		if (i)
			kq_buf_puts(s, ", ");
		kq_gp_str(s, b->cats[i]);
		kq_buf_printf(s, " %zu", i);
	}
	kq_buf_puts(s, ")\n");
}

/* Draws nseries bars per run and category; series titles in names. */
static int draw(const struct kq_runset *rs, struct kq_plot *pl, const struct bars *b, int nseries,
		const char *const *names)
{
	struct kq_buf *s = kq_plot_script(pl);
	size_t nbars = rs->n * (size_t)nseries;
	double width = nbars > 2 ? 0.8 / (double)nbars : 0.35; /* one or two bars: not a wall */
	kq_plot_cmd(pl, "set xrange [-0.6:%g]", (double)b->ncats - 0.4);
	kq_plot_cmd(pl, "set yrange [0:*]");
	kq_plot_cmd(pl, "set grid noxtics");
	kq_plot_cmd(pl, "set style fill solid 0.75 border -1");
	kq_plot_cmd(pl, "set boxwidth %g absolute", width * 0.9);
	kq_buf_puts(s, "plot ");
	static const char *const shade[2] = {"#1f5fa8", "#d9822b"};
	for (size_t r = 0; r < rs->n; r++)
		for (int k = 0; k < nseries; k++) {
			const char *path;
			FILE *f = kq_plot_data(pl, &path);
			if (!f)
				return -1;
			size_t bar = r * (size_t)nseries + (size_t)k;
			for (size_t c = 0; c < b->ncats; c++) {
				double y = b->v[r][c][k];
				if (isnan(y))
					continue;
				double x =
				    (double)c + ((double)bar - (double)(nbars - 1) / 2) * width;
				fprintf(f, "%.6g\t%.9g\n", x, y);
			}
			if (fclose(f) != 0)
				return -1;
			if (bar)
				kq_buf_puts(s, ", \\\n     ");
			kq_gp_str(s, path);
			kq_buf_printf(s, " using 1:2 with boxes lc rgb '%s' title ",
				      rs->n > 1 && nseries == 1 ? kq_run_color(r) : shade[k]);
			struct kq_buf t = KQ_BUF_INIT;
			if (rs->n > 1)
				kq_buf_printf(&t, "%s: %s %s", rs->runs[r].label,
					      rs->runs[r].hostname, names[k]);
			else
				kq_buf_puts(&t, names[k]);
			kq_gp_str(s, kq_buf_str(&t));
			kq_buf_free(&t);
		}
	kq_buf_putc(s, '\n');
	return s->failed ? -1 : 0;
}

static int render_capacity(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct bars b = {.pred = capacity_metric, .label = "placement"};
	init_bars(&b);
	if (kq_foreach_metric(rs, collect, &b) < 0)
		return -1;
	struct kq_plot *pl =
	    kq_plot_new(p, NULL, "LLC covert-channel capacity between two tenants by placement", 0);
	if (!pl)
		return -1;
	kq_buf_puts(kq_plot_script(pl),
		    "set ylabel 'capacity (bit/s, lower is better)'\nset xlabel 'placement "
		    "of sender and receiver (hwloc)'\n");
	xtics(kq_plot_script(pl), &b);
	kq_plot_note(pl, "Capacity = bit rate x (1 - H(bit error rate)); a placement the host "
			 "cannot offer (one L3) is skipped and has no bar.");
	static const char *const names[] = {"capacity"};
	return draw(rs, pl, &b, 1, names);
}

static int render_slowdown(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct bars b = {.pred = slowdown_metric, .label = "aggressor"};
	init_bars(&b);
	if (kq_foreach_metric(rs, collect, &b) < 0)
		return -1;
	struct kq_plot *pl =
	    kq_plot_new(p, NULL, "Noisy neighbour: victim pointer-chase slowdown by aggressor", 0);
	if (!pl)
		return -1;
	kq_buf_puts(kq_plot_script(pl),
		    "set ylabel 'victim latency, loaded / alone (ratio, lower is better)'\n"
		    "set xlabel 'what the aggressor VM does'\n");
	xtics(kq_plot_script(pl), &b);
	kq_plot_cmd(pl, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 "
			"lc rgb '#444444' front");
	static const char *const names[] = {"p50", "p99"};
	return draw(rs, pl, &b, 2, names);
}

const struct kq_chart_kind kq_chart_covert_capacity = {
    .id = "covert-capacity",
    .summary = "LLC covert-channel capacity per placement (metrics capacity_bps)",
    .has_data = has_capacity,
    .render = render_capacity,
};

const struct kq_chart_kind kq_chart_noisy_slowdown = {
    .id = "noisy-slowdown",
    .summary = "noisy-neighbour slowdowns p50 and p99 per aggressor (metrics slowdown_p50/p99)",
    .has_data = has_slowdown,
    .render = render_slowdown,
};
