/* Memory overhead heatmap: guest page size (columns) x host backing (rows),
 * each cell coloured by the guest / native ratio of ns per access (geometric
 * mean over the working sets of one class: small < 1 MiB, medium < 64 MiB,
 * large), one chart per latency kernel (chase, randpage) and class. A blank
 * cell did not run (skipped: its reason is in the tables). */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/results_load.h"

static const char *const pages[] = {"4K", "2M", "1G"};
static const char *const backings[] = {"anon", "thp", "hugetlb-2m", "hugetlb-1g", "memfd"};
static const char *const kernels[] = {"chase", "randpage"};
static const char *const classes[] = {"small", "medium", "large"};

static const char *lab(json_t *m, const char *k)
{
	const char *s = json_string_value(json_object_get(json_object_get(m, "labels"), k));
	return s ? s : "";
}

static int index_of(const char *const *v, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	return -1;
}

static bool qualifies(json_t *test, json_t *metric)
{
	return strcmp(kq_jstr(metric, "unit", ""), "ratio") == 0 && kq_metric_has_value(metric) &&
	       index_of(kernels, 2, lab(metric, "kernel")) >= 0 &&
	       index_of(classes, 3, lab(metric, "ws_class")) >= 0 &&
	       index_of(pages, 3, lab(metric, "page_size")) >= 0 &&
	       index_of(backings, 5, lab(metric, "backing")) >= 0;
}

static bool has_data(const struct kq_runset *rs)
{
	return kq_any_metric(rs, qualifies);
}

/* Sums of log(ratio) and counts, by run, kernel, class, backing, page size. */
struct grid {
	size_t runs;
	double *logsum;
	int *n;
};

static size_t at(const struct grid *g, size_t run, int k, int c, int b, int p)
{
	return (((run * 2 + (size_t)k) * 3 + (size_t)c) * 5 + (size_t)b) * 3 + (size_t)p;
}

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct grid *g = ctx;
	if (!qualifies(test, metric))
		return 0;
	double v = json_number_value(json_object_get(metric, "value"));
	if (!(v > 0))
		return 0;
	size_t i = at(g, run, index_of(kernels, 2, lab(metric, "kernel")),
		      index_of(classes, 3, lab(metric, "ws_class")),
		      index_of(backings, 5, lab(metric, "backing")),
		      index_of(pages, 3, lab(metric, "page_size")));
	g->logsum[i] += log(v);
	g->n[i]++;
	return 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct grid g = {.runs = rs->n};
	size_t cells = rs->n * 2 * 3 * 5 * 3, drawn = 0;
	g.logsum = calloc(cells, sizeof(double));
	g.n = calloc(cells, sizeof(int));
	int rc = g.logsum && g.n ? kq_foreach_metric(rs, collect, &g) : -1;
	for (size_t run = 0; !rc && run < rs->n; run++)
		for (int k = 0; !rc && k < 2; k++)
			for (int c = 0; !rc && c < 3; c++) {
				int any = 0;
				for (int b = 0; b < 5; b++)
					for (int pg = 0; pg < 3; pg++)
						any += g.n[at(&g, run, k, c, b, pg)];
				if (!any || drawn >= kq_plotter_max_charts(p))
					continue;
				char title[200], suffix[96];
				snprintf(title, sizeof(title),
					 "Memory overhead, %s, %s working sets: guest / native%s%s",
					 kernels[k], classes[c], rs->n > 1 ? ", " : "",
					 rs->n > 1 ? rs->runs[run].label : "");
				snprintf(suffix, sizeof(suffix), "%s-%s-%zu", kernels[k],
					 classes[c], run + 1);
				struct kq_plot *pl = kq_plot_new(p, suffix, title, 0);
				const char *path;
				FILE *f = pl ? kq_plot_data(pl, &path) : NULL;
				if (!f) {
					rc = -1;
					break;
				}
				double hi = 1;
				for (int b = 0; b < 5; b++)
					for (int pg = 0; pg < 3; pg++) {
						size_t i = at(&g, run, k, c, b, pg);
						double r = g.n[i] ? exp(g.logsum[i] / g.n[i]) : NAN;
						if (g.n[i] && r > hi)
							hi = r;
						if (g.n[i])
							fprintf(f, "%d\t%d\t%.6g\t%.3g\n", pg, b, r,
								r);
					}
				if (fclose(f) != 0) {
					rc = -1;
					break;
				}
				struct kq_buf *s = kq_plot_script(pl);
				kq_plot_cmd(
				    pl, "set xlabel 'guest page size'\nset ylabel 'host backing'");
				kq_plot_cmd(pl, "set xtics ('4K' 0, '2M' 1, '1G' 2)");
				kq_plot_cmd(
				    pl, "set ytics ('anon (THP off)' 0, 'THP' 1, 'hugetlb 2M' 2, "
					"'hugetlb 1G' 3, 'memfd' 4)");
				kq_plot_cmd(pl, "set xrange [-0.5:2.5]\nset yrange [-0.5:4.5]");
				kq_plot_cmd(pl, "set cblabel 'guest / native ns per access (1 = no "
						"overhead)'");
				kq_plot_cmd(pl, "set cbrange [1:%g]", hi > 1.01 ? hi : 1.01);
				kq_plot_cmd(pl, "set palette defined (0 '#2e7d32', 1 '#fdd835', 2 "
						"'#c62828')");
				kq_plot_cmd(pl, "unset key");
				kq_buf_puts(s, "plot ");
				kq_gp_str(s, path);
				/* Each cell a unit box around (page size, backing). */
				kq_buf_puts(s,
					    " using 1:2:(0.5):(0.5):3 with boxxyerror fs solid 1 "
					    "lc palette, \\\n     ");
				kq_buf_puts(s, "'' using 1:2:(sprintf('%.2f', $4)) with labels "
					       "font ',11'\n");
				kq_plot_note(
				    pl, "Blank cells did not run on this host (the tables give "
					"each SKIP reason).");
				drawn++;
			}
	free(g.logsum);
	free(g.n);
	return rc;
}

const struct kq_chart_kind kq_chart_memory_heatmap = {
    .id = "memory-overhead",
    .summary = "guest / native ns per access by guest page size and host backing, per kernel "
	       "and working-set class",
    .has_data = has_data,
    .render = render,
};
