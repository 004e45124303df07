/* kvmqual history METRIC [--host H] [--test T] [--since DATE] [--db URL] [--out DIR] */
#include <errno.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exit_codes.h"
#include "core/parse.h"
#include "core/path.h"
#include "reports/chart.h"
#include "reports/chart_plot.h"
#include "reports/cli.h"
#include "reports/history.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmqual history METRIC [--host H] [--test T] [--since DATE] [--db URL]\n"
		"                             [--out DIR] [--alpha A]\n"
		"\n"
		"The stored runs' medians of METRIC (a metric name such as cpuid.ns) in time\n"
		"order, one series per host, test and label set, with a 95%% interval of each\n"
		"median and the kernel each ran on (* marks a new kernel); step changes found\n"
		"by a CUSUM on the run medians (binary segmentation, Monte Carlo p-values):\n"
		"a series without a change is flagged with probability A (default %g).\n"
		"\n"
		"  --db URL   the results database (default $" KQ_DB_ENV
		", else " KQ_DB_DEFAULT_PATH ")\n"
		"  --out DIR  also write DIR/history.txt and a chart per series (PNG and SVG)\n"
		"\n"
		"Exit status: 0 no step change, 1 a step change was found, 2 bad usage or input,\n"
		"4 an output (--out, standard output) could not be written.\n",
		KQ_CP_DEFAULT_ALPHA);
}

static bool hist_has_data(const struct kq_runset *rs)
{
	return true;
}

static int hist_render(const struct kq_runset *rs, struct kq_plotter *p)
{
	const struct kq_history *h = kq_plotter_ctx(p);
	for (size_t i = 0; i < h->n && i < kq_plotter_max_charts(p); i++) {
		const struct kq_hist_series *s = &h->v[i];
		char title[512], suffix[32];
		snprintf(title, sizeof(title), "%s of %s on %s%s%s: median per run", h->metric,
			 s->test, s->host, *s->labels ? ", " : "", s->labels);
		snprintf(suffix, sizeof(suffix), "%zu", i + 1);
		struct kq_plot *pl = kq_plot_new(p, suffix, title, KQ_PLOT_WIDE | KQ_PLOT_TALL);
		const char *dpath, *spath;
		FILE *d = pl ? kq_plot_data(pl, &dpath) : NULL;
		if (!d)
			return -1;
		for (size_t k = 0; k < s->n; k++) {
			fprintf(d, "%zu\t%.17g\t%.17g\t%.17g\t", k + 1, s->pts[k].median,
				s->pts[k].lo, s->pts[k].hi);
			kq_tsv_field(d, s->pts[k].started);
			fputc('\n', d);
		}
		fclose(d);
		FILE *g = kq_plot_data(pl, &spath);
		if (!g)
			return -1;
		size_t from = 0;
		for (size_t c = 0; c <= s->nchanges; c++) {
			size_t to = c < s->nchanges ? s->changes[c].at : s->n;
			double y = c < s->nchanges ? s->changes[c].before
						   : (s->nchanges ? s->changes[c - 1].after : NAN);
			if (s->nchanges)
				fprintf(g, "%.3f\t%.17g\n%.3f\t%.17g\n\n", from + 0.6, y, to + 0.4,
					y);
			from = to;
		}
		fclose(g);
		struct kq_buf *sc = kq_plot_script(pl);
		kq_buf_puts(sc, "set ylabel ");
		struct kq_buf yl = KQ_BUF_INIT;
		kq_axis_label(&yl, "median", s->unit);
		kq_gp_str(sc, kq_buf_str(&yl));
		kq_buf_free(&yl);
		kq_buf_puts(sc, "\nset xlabel 'run (time order); dashed: a new kernel'\n");
		kq_plot_cmd(pl, "set xrange [0.5:%zu.5]", s->n);
		kq_plot_cmd(pl, "set xtics rotate by -40 font ',8'");
		kq_plot_cmd(pl, "set offsets 0, 0, graph 0.12, graph 0.05");
		for (size_t k = 0; k < s->n; k++) {
			if (k > 0 && strcmp(s->pts[k].kernel, s->pts[k - 1].kernel) == 0)
				continue;
			kq_plot_cmd(
			    pl,
			    "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead dt 2 lc "
			    "rgb '#777777'",
			    k, k);
			kq_buf_printf(sc, "set label ");
			kq_gp_str(sc, s->pts[k].kernel);
			kq_buf_printf(
			    sc, " at %zu.55, graph 0.04 left font ',8' tc rgb '#555555'\n", k);
		}
		for (size_t c = 0; c < s->nchanges; c++)
			kq_plot_cmd(
			    pl,
			    "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lw 2 lc rgb "
			    "'#c0392b'",
			    s->changes[c].at, s->changes[c].at);
		kq_buf_puts(sc, "plot ");
		kq_gp_str(sc, dpath);
		kq_buf_printf(sc,
			      " using 1:2:3:4:xtic(5) with yerrorlines lc rgb '%s' pt 7 ps 0.8 "
			      "title 'median, 95%% interval'",
			      kq_run_color(0));
		if (s->nchanges) {
			kq_buf_puts(sc, ", ");
			kq_gp_str(sc, spath);
			kq_buf_printf(sc, " using 1:2 with lines lw 2 lc rgb '#c0392b' title "
					  "'segment median (step change found)'");
		}
		kq_buf_putc(sc, '\n');
	}
	return 0;
}

static const struct kq_chart_kind hist_kind = {
    .id = "history",
    .summary = "a metric's run medians over time, kernels and step changes marked",
    .has_data = hist_has_data,
    .render = hist_render,
};

/* 0; KQ_EXIT_OUTPUT when a file could not be written; 2 for the rest (a
 * chart gnuplot did not draw, no memory). */
static int write_out(const struct kq_history *h, const struct kq_buf *text, const char *dir)
{
	char err[1024];
	if (kq_mkdir_p(dir) != 0) {
		fprintf(stderr, "kvmqual history: %s: %s\n", dir, strerror(errno));
		return KQ_EXIT_OUTPUT;
	}
	char *path = kq_cli_path_join(dir, "history.txt");
	int rc = 0;
	if (!path) {
		fprintf(stderr, "kvmqual history: out of memory\n");
		rc = KQ_EXIT_USAGE;
	} else if (kq_cli_write(text, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual history: %s\n", err);
		rc = KQ_EXIT_OUTPUT;
	}
	free(path);
	struct kq_runset none = {.n = 0};
	struct kq_charts charts;
	struct kq_chart_opts co = {.png = true, .png_dir = dir, .max_per_kind = 8};
	int crc =
	    kq_charts_render_kind(&none, &hist_kind, (void *)h, &co, &charts, err, sizeof(err));
	if (crc != 0) {
		fprintf(stderr, "kvmqual history: %s\n", err);
		return crc == KQ_CHARTS_EWRITE ? KQ_EXIT_OUTPUT : rc ? rc : KQ_EXIT_USAGE;
	}
	if (charts.error) {
		fprintf(stderr, "kvmqual history: warning: %s\n", charts.error);
		rc = rc ? rc : KQ_EXIT_USAGE;
	}
	for (size_t i = 0; i < charts.n; i++) {
		if (charts.v[i].error) {
			fprintf(stderr, "kvmqual history: chart %s not drawn: %s\n", charts.v[i].id,
				charts.v[i].error);
			rc = rc ? rc : KQ_EXIT_USAGE;
		} else if (charts.v[i].png) {
			fprintf(stderr, "kvmqual history: wrote %s\n", charts.v[i].png);
		}
	}
	kq_charts_free(&charts);
	return rc;
}

int kq_history_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'H'},  {"test", required_argument, NULL, 't'},
	    {"since", required_argument, NULL, 's'}, {"db", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},   {"alpha", required_argument, NULL, 'a'},
	    {"help", no_argument, NULL, 'h'},	     {NULL, 0, NULL, 0}};
	struct kq_hist_query q = {0};
	struct kq_cp_opts cp;
	const char *url = NULL, *out = NULL;
	char err[1024];
	int c;

	kq_cp_opts_default(&cp);
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			q.host = optarg;
			break;
		case 't':
			q.test = optarg;
			break;
		case 's':
			q.since = optarg;
			break;
		case 'd':
			url = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'a':
			if (kq_parse_double(optarg, &cp.alpha) != 0 || cp.alpha <= 0 ||
			    cp.alpha >= 1) {
				fprintf(stderr,
					"kvmqual history: --alpha: \"%s\" is not in (0, 1)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "kvmqual history: give exactly one METRIC\n");
		usage(stderr);
		return 2;
	}
	q.metric = argv[optind];
	struct kq_db *db;
	if (kq_db_open(url, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual history: %s\n", err);
		return 2;
	}
	struct kq_history h;
	int rc = 2;
	if (kq_history_build(db, &q, &cp, &h, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual history: %s\n", err);
		goto out;
	}
	struct kq_buf text = KQ_BUF_INIT;
	kq_history_text(&h, &text);
	fputs(kq_buf_str(&text), stdout);
	rc = 0;
	for (size_t i = 0; i < h.n; i++)
		if (h.v[i].nchanges)
			rc = 1;
	if (!h.n)
		rc = 2;
	int wrc = out && h.n ? write_out(&h, &text, out) : 0;
	if (wrc)
		rc = wrc;
	kq_buf_free(&text);
out:
	kq_history_free(&h);
	kq_db_close(db);
	return rc;
}
