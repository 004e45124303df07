/* Memory setup and tracking costs, one line per phase or operation against a
 * count or a size: dirty logging in ms per GiB against vCPUs (one chart per
 * mechanism: enable, write pass, get, clear, ring harvest and reset...),
 * memslot operations in us against the number of slots, and VM creation in
 * ms against guest memory size. Median with a whisker to the p99 (a single
 * value draws as a point). Metrics of memory.dirty-log, memory.slots and
 * memory.vm-create, found by their labels. */
#include "reports/chart_plot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/labels.h"
#include "core/stats.h"
#include "reports/results_load.h"

#define SEP "\x1f"

struct xy_spec {
	const char *x;	   /* numeric label on the x axis */
	const char *line;  /* string label naming the line */
	const char *chart; /* string label splitting charts, or NULL: one per test */
	const char *unit;
	const char *title; /* printf format with the chart's key */
	const char *xlabel, *ylabel;
	bool bytes; /* x is a size in bytes */
};

static const struct xy_spec dirty_spec = {
    .x = "vcpus",
    .line = "phase",
    .chart = "mechanism",
    .unit = "ms/GiB",
    .title = "Dirty logging (%s): ms per GiB of guest memory against vCPUs",
    .xlabel = "vCPUs writing at once",
    .ylabel = "ms per GiB (median; whisker: p99)",
};
static const struct xy_spec slots_spec = {
    .x = "slots",
    .line = "op",
    .unit = "us",
    .title = "Memslot operations (%s): us per operation against slots",
    .xlabel = "memslots added (log scale)",
    .ylabel = "us per operation (median; whisker: p99)",
};
static const struct xy_spec vmcreate_spec = {
    .x = "memory",
    .line = "op",
    .unit = "ms",
    .title = "VM setup (%s): ms against guest memory size",
    .xlabel = "guest memory (log scale)",
    .ylabel = "ms per VM (median; whisker: p99)",
    .bytes = true,
};

static bool fits(const struct xy_spec *sp, json_t *metric)
{
	json_t *l = json_object_get(metric, "labels");
	return strcmp(kq_jstr(metric, "unit", ""), sp->unit) == 0 &&
	       (kq_metric_has_stats(metric) || kq_metric_has_value(metric)) &&
	       !isnan(kq_label_num(metric, sp->x, NAN)) &&
	       json_is_string(json_object_get(l, sp->line)) &&
	       (!sp->chart || json_is_string(json_object_get(l, sp->chart)));
}

static bool fits_dirty(json_t *t, json_t *m)
{
	return fits(&dirty_spec, m);
}
static bool fits_slots(json_t *t, json_t *m)
{
	return fits(&slots_spec, m);
}
static bool fits_vmcreate(json_t *t, json_t *m)
{
	return fits(&vmcreate_spec, m);
}

struct collect {
	const struct xy_spec *sp;
	json_t *charts; /* chart key -> {line key -> {x -> [median, p99]}} */
	json_t *order;
};

static const char *lab(json_t *m, const char *k)
{
	return json_string_value(json_object_get(json_object_get(m, "labels"), k));
}

static int collect(size_t run, json_t *test, json_t *metric, void *ctx)
{
	struct collect *c = ctx;
	if (!fits(c->sp, metric))
		return 0;
	char chart[160], line[160], x[40];
	snprintf(chart, sizeof(chart), "%s",
		 c->sp->chart ? lab(metric, c->sp->chart) : kq_jstr(test, "name", "?"));
	snprintf(line, sizeof(line), "%zu" SEP "%s", run, lab(metric, c->sp->line));
	snprintf(x, sizeof(x), "%.17g", kq_label_num(metric, c->sp->x, 0));
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
	json_t *st = json_object_get(metric, "stats");
	double med = st ? json_number_value(json_object_get(st, "median"))
			: json_number_value(json_object_get(metric, "value"));
	double p99 = st ? json_number_value(json_object_get(st, "p99")) : med;
	json_object_set_new(ln, x, json_pack("[f,f]", med, p99));
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	double x = atof(*(const char *const *)a), y = atof(*(const char *const *)b);
	return kq_cmp_double(&x, &y);
}

/* One line's points, sorted by x, into a data file; -1 on failure. */
static int write_points(struct kq_plot *pl, json_t *pts, const char **path)
{
	size_t n = json_object_size(pts), j = 0;
	const char **keys = malloc((n ? n : 1) * sizeof(*keys));
	FILE *f = keys ? kq_plot_data(pl, path) : NULL;
	if (!f) {
		free(keys);
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(pts, k, v) keys[j++] = k;
	qsort(keys, n, sizeof(*keys), cmp_key);
	for (j = 0; j < n; j++) {
		json_t *pt = json_object_get(pts, keys[j]);
		fprintf(f, "%s\t%.9g\t%.9g\n", keys[j], json_real_value(json_array_get(pt, 0)),
			json_real_value(json_array_get(pt, 1)));
	}
	free(keys);
	return fclose(f) == 0 ? 0 : -1;
}

static int render_chart(const struct kq_runset *rs, struct kq_plotter *p, const struct xy_spec *sp,
			const char *key, json_t *lines)
{
	char title[200];
	snprintf(title, sizeof(title), sp->title, key);
	size_t nlines = json_object_size(lines);
	struct kq_plot *pl = kq_plot_new(p, key, title, nlines > 4 ? KQ_PLOT_TALL : 0);
	if (!pl)
		return -1;
	struct kq_buf *s = kq_plot_script(pl);
	kq_buf_puts(s, "set xlabel ");
	kq_gp_str(s, sp->xlabel);
	kq_buf_puts(s, "\nset ylabel ");
	kq_gp_str(s, sp->ylabel);
	kq_buf_putc(s, '\n');
	kq_plot_cmd(pl, "set logscale y 10\nset grid xtics ytics\nset offsets graph 0.05, graph "
			"0.05, 0, 0");
	if (sp->bytes)
		kq_plot_cmd(pl, "set logscale x 2\nset format x '%%.0b%%B'");
	else if (strcmp(sp->x, "slots") == 0)
		kq_plot_cmd(pl, "set logscale x 2");
	else
		kq_plot_cmd(pl, "set xtics 1");
	kq_plot_cmd(pl, nlines > 4 ? "set key below left Left reverse maxcols 3"
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
		const char *path;
		if (write_points(pl, pts, &path) < 0)
			return -1;
		size_t run = (size_t)atoll(lk);
		const char *name = strstr(lk, SEP) + 1;
		struct kq_buf t = KQ_BUF_INIT;
		if (rs->n > 1)
			kq_buf_printf(&t, "%s: ", rs->runs[run].label);
		kq_buf_puts(&t, name);
		if (i)
			kq_buf_puts(s, ", \\\n     ");
		kq_gp_str(s, path);
		kq_buf_printf(s,
			      " using 1:2:2:3 with yerrorlines lw 2 pt 7 ps 1.0 lc rgb '%s' dt %d "
			      "title ",
			      kq_run_color(i), (int)(run % 5) + 1);
		kq_gp_str(s, kq_buf_str(&t));
		kq_buf_free(&t);
		i++;
	}
	kq_buf_putc(s, '\n');
	if (dropped)
		kq_plot_note(pl, "%zu more lines are not drawn (the tables list them).", dropped);
	return s->failed ? -1 : 0;
}

static int render(const struct kq_runset *rs, struct kq_plotter *p, const struct xy_spec *sp)
{
	struct collect c = {.sp = sp, .charts = json_object(), .order = json_array()};
	int rc = kq_foreach_metric(rs, collect, &c);
	size_t i;
	json_t *v;
	json_array_foreach(c.order, i, v)
	{
		if (rc || i >= kq_plotter_max_charts(p))
			break;
		const char *key = json_string_value(v);
		rc = render_chart(rs, p, sp, key, json_object_get(c.charts, key));
	}
	json_decref(c.charts);
	json_decref(c.order);
	return rc;
}

static bool has_dirty(const struct kq_runset *rs)
{
	return kq_any_metric(rs, fits_dirty);
}
static bool has_slots(const struct kq_runset *rs)
{
	return kq_any_metric(rs, fits_slots);
}
static bool has_vmcreate(const struct kq_runset *rs)
{
	return kq_any_metric(rs, fits_vmcreate);
}
static int render_dirty(const struct kq_runset *rs, struct kq_plotter *p)
{
	return render(rs, p, &dirty_spec);
}
static int render_slots(const struct kq_runset *rs, struct kq_plotter *p)
{
	return render(rs, p, &slots_spec);
}
static int render_vmcreate(const struct kq_runset *rs, struct kq_plotter *p)
{
	return render(rs, p, &vmcreate_spec);
}

const struct kq_chart_kind kq_chart_memory_dirty = {
    .id = "memory-dirty-log",
    .summary = "dirty logging in ms per GiB against vCPUs, one line per phase, one chart per "
	       "mechanism",
    .has_data = has_dirty,
    .render = render_dirty,
};
const struct kq_chart_kind kq_chart_memory_slots = {
    .id = "memory-slots",
    .summary = "memslot add, move and delete in us against the number of slots",
    .has_data = has_slots,
    .render = render_slots,
};
const struct kq_chart_kind kq_chart_memory_vmcreate = {
    .id = "memory-vm-create",
    .summary = "VM creation, first exit and destroy in ms against guest memory size",
    .has_data = has_vmcreate,
    .render = render_vmcreate,
};
