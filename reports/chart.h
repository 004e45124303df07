/* Charts drawn by gnuplot from one or more runs. With one run they describe
 * it; with several (compare) every chart overlays the runs. The kinds of chart
 * live in a table (chart_kinds.c): each has a predicate "does this run set
 * have data for me" and a renderer, so a new kind of result adds its chart
 * in one file and one table line. */
#ifndef KQ_REPORTS_CHART_H
#define KQ_REPORTS_CHART_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/runset.h"

struct kq_chart {
	char *id;    /* unique file stem: "exit-latency-ns" */
	char *kind;  /* the kind's id: "exit-latency" */
	char *title; /* first title line */
	char *svg;   /* inline-ready SVG element, when SVG was asked for and drawn */
	char *png;   /* path of the PNG file, when PNG was asked for and drawn */
	char *error; /* why drawing failed (gnuplot's own message), else NULL */
	char *note;  /* what the chart leaves out, else NULL */
};

struct kq_charts {
	struct kq_chart *v;
	size_t n;
	char *error; /* why no chart could be drawn at all (gnuplot missing), else NULL */
};

struct kq_chart_opts {
	bool svg;		/* inline SVG for HTML */
	bool png;		/* PNG files for everything else */
	const char *png_dir;	/* folder for the PNG files (created) */
	const char *png_prefix; /* file name prefix, may be NULL */
	unsigned jobs;		/* gnuplot processes at once; 0: one per CPU, at most 8 */
	size_t max_per_kind;	/* charts one kind may draw; 0: 12 */
	size_t max_series;	/* series on one chart; 0: 8 */
};

/* Draws every chart the run set has data for. A chart that gnuplot fails
 * to draw keeps its title and error; gnuplot missing sets charts->error.
 * Returns -1 on allocation or temporary-file failure, KQ_CHARTS_EWRITE when a
 * PNG cannot be written into png_dir (message in err; no partial file left). */
#define KQ_CHARTS_EWRITE (-2)
int kq_charts_render(const struct kq_runset *rs, const struct kq_chart_opts *o,
		     struct kq_charts *out, char *err, size_t errlen);
void kq_charts_free(struct kq_charts *c);

/* The same for one kind outside the table (history, fleet: charts of data that
 * is not a run set); CTX reaches its renderer through kq_plotter_ctx(). RS
 * names the runs under each title and may be empty. */
struct kq_chart_kind;
int kq_charts_render_kind(const struct kq_runset *rs, const struct kq_chart_kind *kind, void *ctx,
			  const struct kq_chart_opts *o, struct kq_charts *out, char *err,
			  size_t errlen);

/* The gnuplot program: $KQ_GNUPLOT, else "gnuplot". */
const char *kq_gnuplot_program(void);

#endif
