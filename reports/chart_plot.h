/* What a chart kind sees: the plotter that collects gnuplot scripts and data
 * files, and the kinds table entry. The plotter adds the terminal, the title
 * (with host and environment, and the emulated-host mark) and runs gnuplot;
 * a renderer only writes data and the `set`/`plot` lines. */
#ifndef KQ_REPORTS_CHART_PLOT_H
#define KQ_REPORTS_CHART_PLOT_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "reports/chart.h"
#include "core/strbuf.h"

struct kq_plotter;
struct kq_plot;

struct kq_chart_kind {
	const char *id;	     /* stem of the chart ids, e.g. "exit-latency" */
	const char *summary; /* one line for docs and --help */
	bool (*has_data)(const struct kq_runset *rs);
	/* Adds zero or more plots; returns -1 only on allocation/IO failure. */
	int (*render)(const struct kq_runset *rs, struct kq_plotter *p);
};

extern const struct kq_chart_kind *const kq_chart_kinds[];
extern const size_t kq_chart_nkinds;

/* The plotter's limits (from kq_chart_opts, defaults applied). */
size_t kq_plotter_max_charts(const struct kq_plotter *p);
size_t kq_plotter_max_series(const struct kq_plotter *p);

enum {
	KQ_PLOT_WIDE = 1, /* a wider canvas: many categories */
	KQ_PLOT_TALL = 2, /* a taller canvas: a key under the graph */
};

/* Starts a chart. ID_SUFFIX makes its id unique within the kind ("ns", "2");
 * FLAGS are KQ_PLOT_*. */
struct kq_plot *kq_plot_new(struct kq_plotter *p, const char *id_suffix, const char *title,
			    unsigned flags);
/* Opens a new data file (tab separated) for the plot; the path is owned by
 * the plot and goes into the script through kq_gp_str(). NULL on failure. */
FILE *kq_plot_data(struct kq_plot *pl, const char **path);
/* Appends a script line (a newline is added). */
void kq_plot_cmd(struct kq_plot *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The script under construction, to append quoted strings with kq_gp_str. */
struct kq_buf *kq_plot_script(struct kq_plot *pl);
/* A line for the reader saying what the chart leaves out. */
void kq_plot_note(struct kq_plot *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A gnuplot string literal (single quotes: no escapes, '' for a quote),
 * with newlines and tabs turned into spaces. */
void kq_gp_str(struct kq_buf *b, const char *s);

/* Walks every metric of every test of every run; stops at the first
 * non-zero return and returns it. */
typedef int (*kq_metric_fn)(size_t run, json_t *test, json_t *metric, void *ctx);
int kq_foreach_metric(const struct kq_runset *rs, kq_metric_fn fn, void *ctx);
/* True when some metric satisfies PRED. */
bool kq_any_metric(const struct kq_runset *rs, bool (*pred)(json_t *test, json_t *metric));

/* Category names (an exit kind, a metric name) that several tests share get
 * the test's name added, so two tests never land on one bar, unless the
 * chart pools them (too many categories to draw one by one). MAP is a JSON
 * object the caller owns; kq_category_count says how many categories there
 * are without pooling. */
void kq_category_note(json_t *map, const char *base, const json_t *test);
size_t kq_category_count(const json_t *map);
void kq_category_label(const json_t *map, const char *base, const json_t *test, bool pooled,
		       struct kq_buf *out);

/* The axis label for a unit: "latency (ns)", "rate (ops/s)", "(pages)". */
void kq_axis_label(struct kq_buf *b, const char *what, const char *unit);

/* Line colours shared by every chart: one per run in overlays, one per
 * handled_in otherwise, so a reader learns them once. */
const char *kq_run_color(size_t run_index);
const char *kq_handled_color(const char *handled_in);
int kq_handled_point(const char *handled_in); /* gnuplot point type */
const char *kq_handled_title(const char *handled_in);

#endif
