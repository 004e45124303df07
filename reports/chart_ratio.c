/* Micro-VMM against the raw reference loop: metrics with unit "ratio"
 * (the micro-VMM's time over a bare KVM_RUN loop's on the same exit) as bars,
 * runs side by side, with the parity line at 1. */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/results_load.h"

#define SEP	 "\x1f"
#define PER_PAGE 30

static bool qualifies(json_t *test, json_t *metric)
{
	/* Memory ratios (labelled working_set) have their own heatmap, the
	 * isolation tests' slowdowns (workloads iso.*) their own chart. */
	return strcmp(kq_jstr(metric, "unit", ""), "ratio") == 0 &&
	       strncmp(kq_jstr(test, "workload", ""), "iso.", 4) != 0 &&
	       !json_object_get(json_object_get(metric, "labels"), "working_set") &&
	       (kq_metric_has_stats(metric) || kq_metric_has_value(metric));
}

static bool has_data(const struct kq_runset *rs)
{
	return kq_any_metric(rs, qualifies);
}

struct collect {
	json_t *cats;	  /* category map */
	json_t *catorder; /* labels in order */
	json_t *catseen;  /* set of the same */
	struct kq_pools pools;
	bool second_pass;
	bool pooled; /* too many tests per kind: one bar per kind (mean of the values) */
};

static void base_name(struct kq_buf *b, json_t *metric)
{
	static const char *const skip[] = {"kind",	 "repeat",     "vcpu",
					   "batch_size", "iterations", NULL};
	char buf[64];
	const char *kind = kq_label(metric, "kind", buf, sizeof(buf));
	kq_buf_puts(b, kind ? kind : kq_jstr(metric, "name", "?"));
	size_t mark = b->len;
	kq_buf_puts(b, " [");
	size_t before = b->len;
	kq_labels_fmt(b, metric, skip, ", ");
	/* handled_in is implied by the kind; keep other labels (vcpus, backing) */
	if (b->len == before) {
		b->len = mark;
		b->p[mark] = '\0';
	} else {
		kq_buf_putc(b, ']');
	}
}

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	if (!qualifies(test, metric))
		return 0;
	struct kq_buf base = KQ_BUF_INIT, cat = KQ_BUF_INIT, key = KQ_BUF_INIT;
	base_name(&base, metric);
	if (!c->second_pass) {
		kq_category_note(c->cats, kq_buf_str(&base), test);
	} else {
		kq_category_label(c->cats, kq_buf_str(&base), test, c->pooled, &cat);
		if (!json_object_get(c->catseen, kq_buf_str(&cat))) {
			json_object_set_new(c->catseen, kq_buf_str(&cat), json_true());
			json_array_append_new(c->catorder, json_string(kq_buf_str(&cat)));
		}
		kq_buf_printf(&key, "%zu" SEP "%s", run, kq_buf_str(&cat));
		kq_pools_add(&c->pools, kq_buf_str(&key), run, test, metric);
	}
	int rc = (base.failed || cat.failed || key.failed || c->pools.failed) ? -1 : 0;
	kq_buf_free(&base);
	kq_buf_free(&cat);
	kq_buf_free(&key);
	return rc;
}

static int render_page(const struct kq_runset *rs, struct kq_plotter *p, struct collect *c,
		       size_t first, size_t count, size_t page, size_t npages)
{
	char title[128], suffix[24];
	snprintf(title, sizeof(title), "Micro-VMM time relative to the raw KVM_RUN reference loop");
	if (npages > 1)
		snprintf(title + strlen(title), sizeof(title) - strlen(title), ", part %zu of %zu",
			 page + 1, npages);
	snprintf(suffix, sizeof(suffix), "%zu", page + 1);
	struct kq_plot *pl =
	    kq_plot_new(p, npages > 1 ? suffix : NULL, title, count > 10 ? KQ_PLOT_WIDE : 0);
	if (!pl)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_buf_puts(s, "set ylabel 'micro-VMM / reference (ratio, 1 = parity, lower is better)'\n"
		       "set xlabel 'exit kind'\n");
	kq_buf_puts(s, "set xtics (");
	for (size_t i = 0; i < count; i++) {
		if (i)
			kq_buf_puts(s, ", ");
		kq_gp_str(s, json_string_value(json_array_get(c->catorder, first + i)));
		kq_buf_printf(s, " %zu", i);
	}
	kq_buf_printf(s, ")%s\n", count > 6 ? " rotate by -35" : "");
	if (c->pooled)
		kq_plot_note(pl,
			     "Several tests measured the same exit kinds: each bar is the mean of "
			     "their ratios (the tables list each test).");
	kq_plot_cmd(pl, "set xrange [-0.6:%g]", (double)count - 0.4);
	kq_plot_cmd(pl, "set yrange [0:*]");
	kq_plot_cmd(pl, "set grid noxtics");
	kq_plot_cmd(pl, "set style fill solid 0.75 border -1");
	kq_plot_cmd(pl, "set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2 lw 1.5 "
			"lc rgb '#444444' front");
	double width = 0.7 / (double)rs->n;
	kq_plot_cmd(pl, "set boxwidth %g absolute", width * 0.9);
	kq_buf_puts(s, "plot ");
	for (size_t r = 0; r < rs->n; r++) {
		const char *path;
		FILE *f = kq_plot_data(pl, &path);
		if (!f)
			return -1;
		for (size_t i = 0; i < count; i++) {
			struct kq_buf key = KQ_BUF_INIT;
			kq_buf_printf(&key, "%zu" SEP "%s", r,
				      json_string_value(json_array_get(c->catorder, first + i)));
			struct kq_pool *pool = kq_pools_find(&c->pools, kq_buf_str(&key));
			kq_buf_free(&key);
			if (!pool)
				continue;
			double x = (double)i + ((double)r - (double)(rs->n - 1) / 2) * width;
			fprintf(f, "%.6g\t%.9g\n", x, kq_pool_center(pool));
		}
		if (fclose(f) != 0)
			return -1;
		if (r)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(s, " using 1:2 with boxes lc rgb '%s' title ",
			      rs->n > 1 ? kq_run_color(r) : "#1f5fa8");
		struct kq_buf t = KQ_BUF_INIT;
		if (rs->n > 1)
			kq_buf_printf(&t, "%s: %s", rs->runs[r].label, rs->runs[r].hostname);
		else
			kq_buf_puts(&t, "micro-VMM / reference");
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
	}
	kq_buf_putc(s, '\n');
	return s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p)
{
	struct collect c = {
	    .cats = json_object(), .catorder = json_array(), .catseen = json_object()};
	int rc = kq_foreach_metric(rs, collect, &c);
	if (!rc) {
		c.second_pass = true;
		c.pooled = kq_category_count(c.cats) > PER_PAGE;
		rc = kq_foreach_metric(rs, collect, &c);
	}
	if (!rc)
		rc = kq_pools_finish(&c.pools);
	size_t n = json_array_size(c.catorder), npages = (n + PER_PAGE - 1) / PER_PAGE;
	size_t max = kq_plotter_max_charts(p);
	for (size_t pg = 0; !rc && pg < npages && pg < max; pg++) {
		size_t first = pg * PER_PAGE, count = n - first > PER_PAGE ? PER_PAGE : n - first;
		rc = render_page(rs, p, &c, first, count, pg, npages > max ? max : npages);
	}
	kq_pools_free(&c.pools);
	json_decref(c.cats);
	json_decref(c.catorder);
	json_decref(c.catseen);
	return rc;
}

const struct kq_chart_kind kq_chart_reference_ratio = {
    .id = "reference-ratio",
    .summary = "micro-VMM time over the raw KVM_RUN reference loop's (unit \"ratio\")",
    .has_data = has_data,
    .render = render,
};
