/* kvmqual fleet report [SELECTION] [--db URL] [--out DIR] */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exit_codes.h"
#include "core/path.h"
#include "reports/chart.h"
#include "reports/chart_plot.h"
#include "reports/cli.h"
#include "reports/fleet.h"
#include "reports/html.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmqual fleet report [SELECTION] [--db URL] [--out DIR]\n"
		   "\n"
		   "Hosts side by side on their headline metrics (each test's first sampled\n"
		   "metric; a host's value is the median of its runs' medians), each host's\n"
		   "robust z-score against the fleet, 0.6745 (x - median) / MAD; |z| > 3.5 is an\n"
		   "outlier, shown with the probe facts in which the host differs from most of\n"
		   "the fleet (cpu, microcode, kernel, mitigations, thp). SELECTION as in\n"
		   "`kvmqual db list` (default: every stored run).\n"
		   "\n"
		   "  --db URL   the results database (default $" KQ_DB_ENV
		   ", else " KQ_DB_DEFAULT_PATH ")\n"
		   "  --out DIR  also write DIR/fleet.html (z-score chart inline)\n"
		   "\n"
		   "Exit status: 0 no outlier, 1 an outlier, 2 bad usage or input, 4 an output\n"
		   "(--out, standard output) could not be written.\n");
}

static void text(const struct kq_fleet *f, struct kq_buf *b)
{
	kq_buf_printf(b, "fleet: %zu hosts, %zu headline metrics; robust z (|z| > %.1f: outlier)\n",
		      f->nh, f->nm, KQ_FLEET_OUTLIER_Z);
	for (size_t i = 0; i < f->nh; i++) {
		kq_buf_printf(b, "host %s (%zu run%s)", f->h[i].name, f->h[i].runs,
			      f->h[i].runs == 1 ? "" : "s");
		struct kq_buf e = KQ_BUF_INIT;
		kq_fleet_explain(f, i, &e);
		if (e.len)
			kq_buf_printf(b, ": differs in %s", kq_buf_str(&e));
		kq_buf_free(&e);
		kq_buf_putc(b, '\n');
	}
	for (size_t k = 0; k < f->nm; k++) {
		const struct kq_fleet_metric *m = &f->m[k];
		kq_buf_printf(b, "%s (%s): fleet median %.6g, MAD %.4g\n", m->key, m->unit,
			      m->median, m->mad);
		for (size_t h = 0; h < f->nh; h++) {
			if (isnan(m->value[h]))
				continue;
			if (isnan(m->z[h]))
				kq_buf_printf(b, "  %-24s %12.6g  z n/a (one host)\n", f->h[h].name,
					      m->value[h]);
			else
				kq_buf_printf(b, "  %-24s %12.6g  z %+7.2f%s\n", f->h[h].name,
					      m->value[h], m->z[h],
					      kq_fleet_outlier(m->z[h]) ? "  OUTLIER" : "");
		}
	}
}

static bool z_has_data(const struct kq_runset *rs)
{
	return true;
}

/* One clustered bar chart: per metric, a bar per host (its z-score). */
static int z_render(const struct kq_runset *rs, struct kq_plotter *p)
{
	const struct kq_fleet *f = kq_plotter_ctx(p);
	struct kq_plot *pl = kq_plot_new(p, "z", "Robust z-score per host and headline metric",
					 KQ_PLOT_WIDE | KQ_PLOT_TALL);
	const char *path;
	FILE *d = pl ? kq_plot_data(pl, &path) : NULL;
	if (!d)
		return -1;
	for (size_t k = 0; k < f->nm; k++) {
		kq_tsv_field(d, f->m[k].key);
		for (size_t h = 0; h < f->nh; h++) {
			double z = f->m[k].z[h];
			/* MAD 0 gives an infinite z: drawn at the axis' end */
			fprintf(d, "\t%.6g", isnan(z) ? 0 : (isinf(z) ? (z > 0 ? 10 : -10) : z));
		}
		fputc('\n', d);
	}
	fclose(d);
	kq_plot_cmd(pl, "set style data histograms\nset style histogram clustered gap 1");
	kq_plot_cmd(pl, "set style fill solid 0.8 border -1\nset boxwidth 0.9");
	kq_plot_cmd(pl, "set ylabel 'robust z (0.6745 (x - median) / MAD)'");
	kq_plot_cmd(pl, "set yrange [-10:10]\nset xtics rotate by -30 font ',8'");
	kq_plot_cmd(pl,
		    "set arrow from graph 0, first %g to graph 1, first %g nohead dt 2 lc rgb "
		    "'#b3261e'",
		    KQ_FLEET_OUTLIER_Z, KQ_FLEET_OUTLIER_Z);
	kq_plot_cmd(pl,
		    "set arrow from graph 0, first -%g to graph 1, first -%g nohead dt 2 lc "
		    "rgb '#b3261e'",
		    KQ_FLEET_OUTLIER_Z, KQ_FLEET_OUTLIER_Z);
	struct kq_buf *s = kq_plot_script(pl);
	kq_buf_puts(s, "plot ");
	for (size_t h = 0; h < f->nh && h < kq_plotter_max_series(p); h++) {
		kq_buf_puts(s, h ? ", '' " : "");
		if (!h)
			kq_gp_str(s, path);
		kq_buf_printf(s, " using %zu:xtic(1) lc rgb '%s' title ", h + 2, kq_run_color(h));
		kq_gp_str(s, f->h[h].name);
	}
	kq_buf_putc(s, '\n');
	if (f->nh > kq_plotter_max_series(p))
		kq_plot_note(pl, "only the first %zu hosts are drawn; the table has all",
			     kq_plotter_max_series(p));
	return 0;
}

static const struct kq_chart_kind z_kind = {
    .id = "fleet",
    .summary = "robust z-score of every host on every headline metric",
    .has_data = z_has_data,
    .render = z_render,
};

static void html(const struct kq_fleet *f, const struct kq_charts *charts, struct kq_buf *b)
{
	struct kq_runset none = {.n = 0};
	kq_html_begin(b, "kvmqual fleet report");
	kq_buf_printf(
	    b,
	    "<h1>Fleet report</h1>\n<p class=\"sub\">%zu hosts, %zu headline metrics, %zu "
	    "outliers (robust z-score |z| &gt; %.1f, z = 0.6745 (x &minus; median) / "
	    "MAD)</p>\n",
	    f->nh, f->nm, kq_fleet_outliers(f), KQ_FLEET_OUTLIER_Z);
	kq_buf_puts(b,
		    "<h2>Hosts</h2>\n<table><thead><tr><th>host</th><th class=\"num\">runs</th>");
	for (int k = 0; k < 5; k++)
		kq_buf_printf(b, "<th>%s</th>", kq_fleet_fact_names[k]);
	kq_buf_puts(b, "<th>differs from the fleet in</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < f->nh; i++) {
		kq_buf_puts(b, "<tr><td>");
		kq_buf_xml(b, f->h[i].name);
		kq_buf_printf(b, "</td><td class=\"num\">%zu</td>", f->h[i].runs);
		for (int k = 0; k < 5; k++) {
			kq_buf_puts(b, "<td><code>");
			kq_buf_xml(b, f->h[i].facts[k] ? f->h[i].facts[k] : "");
			kq_buf_puts(b, "</code></td>");
		}
		struct kq_buf e = KQ_BUF_INIT;
		kq_fleet_explain(f, i, &e);
		kq_buf_puts(b, "<td>");
		kq_buf_xml(b, e.len ? kq_buf_str(&e) : "nothing");
		kq_buf_puts(b, "</td></tr>\n");
		kq_buf_free(&e);
	}
	kq_buf_puts(b, "</tbody></table>\n<h2>Headline metrics</h2>\n<table><thead><tr><th>metric"
		       "</th><th>unit</th><th class=\"num\">fleet median</th><th class=\"num\">MAD"
		       "</th>");
	for (size_t h = 0; h < f->nh; h++) {
		kq_buf_puts(b, "<th class=\"num\">");
		kq_buf_xml(b, f->h[h].name);
		kq_buf_puts(b, " (z)</th>");
	}
	kq_buf_puts(b, "</tr></thead><tbody>\n");
	for (size_t k = 0; k < f->nm; k++) {
		const struct kq_fleet_metric *m = &f->m[k];
		kq_buf_puts(b, "<tr><td><code>");
		kq_buf_xml(b, m->key);
		kq_buf_puts(b, "</code></td><td>");
		kq_buf_xml(b, m->unit);
		kq_buf_puts(b, "</td>");
		kq_html_num_td(b, m->median);
		kq_html_num_td(b, m->mad);
		for (size_t h = 0; h < f->nh; h++) {
			if (isnan(m->value[h])) {
				kq_buf_puts(b, "<td class=\"num muted\">&mdash;</td>");
				continue;
			}
			bool out = kq_fleet_outlier(m->z[h]);
			kq_buf_printf(b, "<td class=\"num%s\">", out ? " err" : "");
			kq_buf_human(b, m->value[h], 4);
			if (isnan(m->z[h]))
				kq_buf_puts(b, " (z n/a: one host)</td>");
			else
				kq_buf_printf(b, " (%+.2f)%s</td>", m->z[h],
					      out ? " <b>outlier</b>" : "");
		}
		kq_buf_puts(b, "</tr>\n");
	}
	kq_buf_puts(b, "</tbody></table>\n");
	kq_html_charts(b, charts);
	kq_html_end(b, &none);
}

/* 0; KQ_EXIT_OUTPUT when DIR/fleet.html could not be written; 2 for the rest. */
static int write_html(const struct kq_fleet *f, const char *dir)
{
	char err[1024];
	struct kq_runset none = {.n = 0};
	struct kq_charts charts;
	struct kq_chart_opts co = {.svg = true};
	if (kq_mkdir_p(dir) != 0) {
		fprintf(stderr, "kvmqual fleet: %s: %s\n", dir, strerror(errno));
		return KQ_EXIT_OUTPUT;
	}
	int crc = kq_charts_render_kind(&none, &z_kind, (void *)f, &co, &charts, err, sizeof(err));
	if (crc != 0) {
		fprintf(stderr, "kvmqual fleet: %s\n", err);
		return crc == KQ_CHARTS_EWRITE ? KQ_EXIT_OUTPUT : KQ_EXIT_USAGE;
	}
	struct kq_buf b = KQ_BUF_INIT;
	html(f, &charts, &b);
	char *path = kq_cli_path_join(dir, "fleet.html");
	int rc = 0;
	if (!path) {
		fprintf(stderr, "kvmqual fleet: out of memory\n");
		rc = KQ_EXIT_USAGE;
	} else if (kq_cli_write(&b, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual fleet: %s\n", err);
		rc = KQ_EXIT_OUTPUT;
	} else {
		fprintf(stderr, "kvmqual fleet: wrote %s\n", path);
	}
	free(path);
	kq_buf_free(&b);
	kq_charts_free(&charts);
	return rc;
}

int kq_fleet_main(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"out", required_argument, NULL, 'o'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *url = NULL, *out = NULL;
	char err[1024];
	int c;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'd')
			url = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "report") != 0 || argc - optind > 2) {
		usage(stderr);
		return 2;
	}
	struct kq_db_sel sel;
	if (kq_db_sel_parse(argc - optind == 2 ? argv[optind + 1] : "", &sel, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "kvmqual fleet: %s\n", err);
		return 2;
	}
	struct kq_db *db;
	if (kq_db_open(url, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual fleet: %s\n", err);
		kq_db_sel_free(&sel);
		return 2;
	}
	struct kq_fleet f;
	int rc = 2;
	if (kq_fleet_build(db, &sel, &f, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual fleet: %s\n", err);
	} else {
		struct kq_buf b = KQ_BUF_INIT;
		text(&f, &b);
		fputs(kq_buf_str(&b), stdout);
		kq_buf_free(&b);
		rc = kq_fleet_outliers(&f) ? 1 : 0;
		int wrc = out ? write_html(&f, out) : 0;
		if (wrc)
			rc = wrc;
	}
	kq_fleet_free(&f);
	kq_db_close(db);
	kq_db_sel_free(&sel);
	return rc;
}
