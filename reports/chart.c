#include "reports/chart_plot.h"
#include "core/path.h"
#include "reports/cli.h"
#include "reports/results_load.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct kq_plot {
	char *id, *kind, *title;
	unsigned flags;
	struct kq_buf body;
	struct kq_buf note;
	char *dir;
	char **data;
	size_t ndata;
	pid_t pid;
};

struct kq_plotter {
	const struct kq_runset *rs;
	const struct kq_chart_opts *o;
	const struct kq_chart_kind *kind;
	void *ctx; /* the caller's data for a kind outside the table */
	char *tmpdir;
	struct kq_plot **plots;
	size_t n, cap;
	size_t max_charts, max_series;
	bool failed;
};

const char *kq_gnuplot_program(void)
{
	const char *g = getenv("KQ_GNUPLOT");
	return g && *g ? g : "gnuplot";
}

size_t kq_plotter_max_charts(const struct kq_plotter *p)
{
	return p->max_charts;
}

size_t kq_plotter_max_series(const struct kq_plotter *p)
{
	return p->max_series;
}

void *kq_plotter_ctx(const struct kq_plotter *p)
{
	return p->ctx;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

struct kq_plot *kq_plot_new(struct kq_plotter *p, const char *id_suffix, const char *title,
			    unsigned flags)
{
	if (p->failed)
		return NULL;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct kq_plot **v = realloc(p->plots, cap * sizeof(*v));
		if (!v) {
			p->failed = true;
			return NULL;
		}
		p->plots = v;
		p->cap = cap;
	}
	struct kq_plot *pl = calloc(1, sizeof(*pl));
	if (!pl) {
		p->failed = true;
		return NULL;
	}
	if (id_suffix && *id_suffix)
		pl->id = xasprintf("%s-%s", p->kind->id, id_suffix);
	else
		pl->id = strdup(p->kind->id);
	/* ids become file names: keep them to [a-z0-9._-] */
	for (char *c = pl->id; c && *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '.' || *c == '_'))
			*c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '_';
	/* unique even if two renderers pick the same suffix */
	for (size_t i = 0; pl->id && i < p->n; i++)
		if (strcmp(p->plots[i]->id, pl->id) == 0) {
			char *id = xasprintf("%s-%zu", pl->id, p->n);
			free(pl->id);
			pl->id = id;
			break;
		}
	pl->kind = strdup(p->kind->id);
	pl->title = strdup(title);
	pl->flags = flags;
	pl->dir = xasprintf("%s/%zu", p->tmpdir, p->n);
	pl->pid = -1;
	if (!pl->id || !pl->kind || !pl->title || !pl->dir || mkdir(pl->dir, 0700) != 0) {
		free(pl->id);
		free(pl->kind);
		free(pl->title);
		free(pl->dir);
		free(pl);
		p->failed = true;
		return NULL;
	}
	p->plots[p->n++] = pl;
	return pl;
}

FILE *kq_plot_data(struct kq_plot *pl, const char **path)
{
	char **v = realloc(pl->data, (pl->ndata + 1) * sizeof(*v));
	if (!v)
		return NULL;
	pl->data = v;
	char *name = xasprintf("%s/d%zu.tsv", pl->dir, pl->ndata);
	if (!name)
		return NULL;
	FILE *f = fopen(name, "w");
	if (!f) {
		free(name);
		return NULL;
	}
	pl->data[pl->ndata++] = name;
	*path = name;
	return f;
}

void kq_plot_cmd(struct kq_plot *pl, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		pl->body.failed = true;
		return;
	}
	kq_buf_puts(&pl->body, s);
	kq_buf_putc(&pl->body, '\n');
	free(s);
}

struct kq_buf *kq_plot_script(struct kq_plot *pl)
{
	return &pl->body;
}

void kq_plot_note(struct kq_plot *pl, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	if (pl->note.len)
		kq_buf_puts(&pl->note, " ");
	kq_buf_puts(&pl->note, s);
	free(s);
}

void kq_gp_str(struct kq_buf *b, const char *s)
{
	kq_buf_putc(b, '\'');
	for (; s && *s; s++) {
		if (*s == '\'')
			kq_buf_puts(b, "''");
		else if (*s == '\n' || *s == '\t' || *s == '\r')
			kq_buf_putc(b, ' ');
		else
			kq_buf_putc(b, *s);
	}
	kq_buf_putc(b, '\'');
}

const char *kq_run_color(size_t i)
{
	static const char *c[] = {"#1f5fa8", "#c0392b", "#2e8b3a", "#7b3fa0",
				  "#d4801a", "#16818c", "#8c5a16", "#5a5a5a"};
	return c[i % (sizeof(c) / sizeof(c[0]))];
}

const char *kq_handled_color(const char *h)
{
	if (strcmp(h, "kernel") == 0)
		return "#1f5fa8";
	if (strcmp(h, "userspace") == 0)
		return "#d4801a";
	return "#5a5a5a";
}

int kq_handled_point(const char *h)
{
	if (strcmp(h, "kernel") == 0)
		return 7; /* filled circle */
	if (strcmp(h, "userspace") == 0)
		return 9; /* filled triangle */
	return 5;	  /* filled square */
}

const char *kq_handled_title(const char *h)
{
	if (strcmp(h, "kernel") == 0)
		return "handled in kernel";
	if (strcmp(h, "userspace") == 0)
		return "handled in userspace";
	if (strcmp(h, "none") == 0)
		return "no exit";
	return "handling not recorded";
}

int kq_foreach_metric(const struct kq_runset *rs, kq_metric_fn fn, void *ctx)
{
	for (size_t r = 0; r < rs->n; r++) {
		json_t *tests = json_object_get(rs->runs[r].root, "tests"), *t;
		size_t i;
		json_array_foreach(tests, i, t)
		{
			json_t *ms = json_object_get(t, "metrics"), *m;
			size_t j;
			json_array_foreach(ms, j, m)
			{
				int rc = fn(r, t, m, ctx);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}

static int any_cb(size_t run, json_t *test, json_t *metric, void *ctx)
{
	bool (*pred)(json_t *, json_t *) = *(bool (**)(json_t *, json_t *))ctx;
	return pred(test, metric) ? 1 : 0;
}

bool kq_any_metric(const struct kq_runset *rs, bool (*pred)(json_t *test, json_t *metric))
{
	return kq_foreach_metric(rs, any_cb, &pred) == 1;
}

void kq_category_note(json_t *map, const char *base, const json_t *test)
{
	json_t *set = json_object_get(map, base);
	if (!set) {
		set = json_object();
		json_object_set_new(map, base, set);
	}
	json_object_set_new(set, kq_jstr(test, "name", ""), json_true());
}

size_t kq_category_count(const json_t *map)
{
	const char *k;
	json_t *set;
	size_t n = 0;
	json_object_foreach((json_t *)map, k, set) n += json_object_size(set);
	return n;
}

void kq_category_label(const json_t *map, const char *base, const json_t *test, bool pooled,
		       struct kq_buf *out)
{
	kq_buf_puts(out, base);
	if (!pooled && json_object_size(json_object_get(map, base)) > 1)
		kq_buf_printf(out, " (%s)", kq_jstr(test, "name", "?"));
}

void kq_axis_label(struct kq_buf *b, const char *what, const char *unit)
{
	if (what && *what)
		kq_buf_printf(b, "%s (%s)", what, unit);
	else if (kq_time_unit_ns(unit) > 0)
		kq_buf_printf(b, "time (%s)", unit);
	else if (strlen(unit) > 2 && strcmp(unit + strlen(unit) - 2, "/s") == 0)
		kq_buf_printf(b, "rate (%s)", unit);
	else
		kq_buf_printf(b, "value (%s)", unit);
}

/* ---- running gnuplot ----------------------------------------------------- */

static void title_expr(struct kq_buf *b, const struct kq_plotter *p, const struct kq_plot *pl)
{
	struct kq_buf sub = KQ_BUF_INIT;
	kq_runset_describe(p->rs, &sub);
	kq_gp_str(b, pl->title);
	kq_buf_puts(b, " . \"\\n\" . ");
	kq_gp_str(b, kq_buf_str(&sub));
	if (kq_runset_any_emulated(p->rs)) {
		kq_buf_puts(b, " . \"\\n\" . ");
		kq_gp_str(b, "emulated host: timings not representative");
	}
	kq_buf_free(&sub);
}

static void preamble(struct kq_buf *s, const struct kq_plotter *p, const struct kq_plot *pl)
{
	bool emu = kq_runset_any_emulated(p->rs);
	kq_buf_puts(s, "set title ");
	title_expr(s, p, pl);
	if (emu)
		kq_buf_puts(s, " textcolor rgb '#b00000'");
	kq_buf_puts(s,
		    "\nset border 3 lc rgb '#555555'\nset tics nomirror\n"
		    "set grid ytics lc rgb '#dddddd' lw 1 dt 1\nset key outside right top vertical "
		    "samplen 2 spacing 1.1 noenhanced\nset datafile separator '\\t'\n"
		    "set datafile missing 'nan'\n");
}

static char *png_path(const struct kq_plotter *p, const struct kq_plot *pl)
{
	return xasprintf("%s/%s%s.png", p->o->png_dir, p->o->png_prefix ? p->o->png_prefix : "",
			 pl->id);
}

static int write_script(const struct kq_plotter *p, const struct kq_plot *pl, char **script_path)
{
	struct kq_buf s = KQ_BUF_INIT;
	int w = pl->flags & KQ_PLOT_WIDE ? 1100 : 900;
	int h = (pl->flags & KQ_PLOT_WIDE ? 540 : 480) + (pl->flags & KQ_PLOT_TALL ? 160 : 0);

	kq_buf_puts(&s, "set encoding utf8\n");
	if (p->o->svg) {
		kq_buf_printf(&s,
			      "set terminal svg size %d,%d dynamic noenhanced font 'sans,11' "
			      "background '#ffffff'\nset output ",
			      w, h);
		char *svg = xasprintf("%s/chart.svg", pl->dir);
		kq_gp_str(&s, svg ? svg : "");
		free(svg);
		kq_buf_putc(&s, '\n');
		preamble(&s, p, pl);
		kq_buf_puts(&s, kq_buf_str(&pl->body));
		kq_buf_puts(&s, "unset output\n");
	}
	if (p->o->png) {
		kq_buf_printf(&s,
			      "reset\nset terminal pngcairo size %d,%d noenhanced font 'sans,10' "
			      "background '#ffffff'\nset output ",
			      w, h);
		char *png = xasprintf("%s/chart.png", pl->dir); /* copied into place when whole */
		kq_gp_str(&s, png ? png : "");
		free(png);
		kq_buf_putc(&s, '\n');
		preamble(&s, p, pl);
		kq_buf_puts(&s, kq_buf_str(&pl->body));
		kq_buf_puts(&s, "unset output\n");
	}
	char *path = xasprintf("%s/chart.gp", pl->dir);
	char err[256];
	int rc = (path && !pl->body.failed) ? kq_buf_save(&s, path, err, sizeof(err)) : -1;
	kq_buf_free(&s);
	if (rc) {
		free(path);
		return -1;
	}
	*script_path = path;
	return 0;
}

static int spawn_gnuplot(struct kq_plot *pl, const char *script, int *spawn_errno)
{
	posix_spawn_file_actions_t fa;
	char *errpath = xasprintf("%s/stderr.txt", pl->dir);
	const char *prog = kq_gnuplot_program();
	char *argv[] = {(char *)prog, (char *)script, NULL};
	int rc;

	if (!errpath)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawnp(&pl->pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(errpath);
	if (rc != 0) {
		*spawn_errno = rc;
		pl->pid = -1;
		return -1;
	}
	return 0;
}

static char *slurp(const char *path, size_t max)
{
	FILE *f = fopen(path, "r");
	struct kq_buf b = KQ_BUF_INIT;
	char chunk[8192];
	size_t n;
	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && (!max || b.len < max))
		kq_buf_putn(&b, chunk, n);
	fclose(f);
	return kq_buf_take(&b);
}

/* Copies gnuplot's PNG into the output folder whole or not at all: 0, -1
 * when gnuplot wrote none, -2 when it cannot be written (message in err). */
static int place_png(const char *from, const char *to, char *err, size_t errlen)
{
	FILE *f = fopen(from, "rb");
	struct kq_buf b = KQ_BUF_INIT;
	char chunk[65536];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		kq_buf_putn(&b, chunk, n);
	bool bad = ferror(f) || !b.len;
	fclose(f);
	int rc = bad ? -1 : kq_buf_save(&b, to, err, errlen) != 0 ? -2 : 0;
	kq_buf_free(&b);
	return rc;
}

/* gnuplot's last lines of complaint, trimmed. */
static char *gnuplot_error(const struct kq_plot *pl, int status)
{
	char *path = xasprintf("%s/stderr.txt", pl->dir);
	char *text = path ? slurp(path, 0) : NULL;
	free(path);
	struct kq_buf b = KQ_BUF_INIT;
	if (WIFEXITED(status))
		kq_buf_printf(&b, "gnuplot exited with status %d", WEXITSTATUS(status));
	else
		kq_buf_printf(&b, "gnuplot was killed by signal %d", WTERMSIG(status));
	if (text && *text) {
		size_t len = strlen(text);
		const char *tail = len > 400 ? text + len - 400 : text;
		kq_buf_puts(&b, ": ");
		kq_buf_puts(&b, tail);
		while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == ' '))
			b.p[--b.len] = '\0';
	}
	free(text);
	return kq_buf_take(&b);
}

/* Makes gnuplot's SVG document an element that can sit inline in HTML next
 * to others: no XML prolog, ids prefixed so they stay unique, the chart
 * title as the SVG title. */
static char *inline_svg(const char *doc, const char *prefix, const char *title)
{
	const char *start = strstr(doc, "<svg");
	struct kq_buf b = KQ_BUF_INIT;
	if (!start)
		return NULL;
	kq_buf_puts(&b, "<svg class=\"chart\" role=\"img\" aria-label=\"");
	kq_buf_xml(&b, title);
	kq_buf_puts(&b, "\"");
	const char *p = start + 4;
	while (*p) {
		static const char *pats[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
		bool hit = false;
		for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
			size_t l = strlen(pats[i]);
			if (strncmp(p, pats[i], l) == 0 && (i > 1 || p == start || p[-1] == ' ' ||
							    p[-1] == '\t' || p[-1] == '\n')) {
				kq_buf_putn(&b, p, l);
				kq_buf_puts(&b, prefix);
				p += l;
				hit = true;
				break;
			}
		}
		if (hit)
			continue;
		if (strncmp(p, "<title>", 7) == 0) {
			const char *end = strstr(p, "</title>");
			if (end) {
				kq_buf_puts(&b, "<title>");
				kq_buf_xml(&b, title);
				kq_buf_puts(&b, "</title>");
				p = end + 8;
				continue;
			}
		}
		if (strncmp(p, "<script", 7) == 0) { /* never expected; never passed on */
			const char *end = strstr(p, "</script>");
			p = end ? end + 9 : p + strlen(p);
			continue;
		}
		kq_buf_putc(&b, *p++);
	}
	while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == ' '))
		b.p[--b.len] = '\0';
	return kq_buf_take(&b);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void plot_free(struct kq_plot *pl)
{
	free(pl->id);
	free(pl->kind);
	free(pl->title);
	free(pl->dir);
	for (size_t i = 0; i < pl->ndata; i++)
		free(pl->data[i]);
	free(pl->data);
	kq_buf_free(&pl->body);
	kq_buf_free(&pl->note);
	free(pl);
}

static unsigned default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > 8 ? 8 : (unsigned)n;
}

static int render_kinds(const struct kq_runset *rs, const struct kq_chart_kind *const *kinds,
			size_t nkinds, void *ctx, const struct kq_chart_opts *o,
			struct kq_charts *out, char *err, size_t errlen)
{
	struct kq_plotter p = {.rs = rs, .o = o, .ctx = ctx};
	const char *tmp = getenv("TMPDIR");
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (!o->svg && !o->png)
		return 0;
	p.max_charts = o->max_per_kind ? o->max_per_kind : 12;
	p.max_series = o->max_series ? o->max_series : 8;
	if (o->png && (!o->png_dir || kq_mkdir_p(o->png_dir) != 0)) {
		snprintf(err, errlen, "cannot create the chart folder %s: %s",
			 o->png_dir ? o->png_dir : "(none)", strerror(errno));
		return KQ_CHARTS_EWRITE;
	}
	p.tmpdir = xasprintf("%s/kvmqual-charts.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!p.tmpdir || !mkdtemp(p.tmpdir)) {
		snprintf(err, errlen, "cannot create a temporary folder for chart data: %s",
			 strerror(errno));
		free(p.tmpdir);
		return -1;
	}

	for (size_t k = 0; k < nkinds; k++) {
		p.kind = kinds[k];
		if (!p.kind->has_data(rs))
			continue;
		if (p.kind->render(rs, &p) != 0 || p.failed) {
			snprintf(err, errlen, "chart %s: cannot prepare its data (%s)", p.kind->id,
				 errno ? strerror(errno) : "out of memory");
			goto out;
		}
	}

	out->v = calloc(p.n ? p.n : 1, sizeof(*out->v));
	if (!out->v) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	out->n = p.n;
	for (size_t i = 0; i < p.n; i++) {
		out->v[i].id = strdup(p.plots[i]->id);
		out->v[i].kind = strdup(p.plots[i]->kind);
		out->v[i].title = strdup(p.plots[i]->title);
		if (p.plots[i]->note.len)
			out->v[i].note = kq_buf_take(&p.plots[i]->note);
	}

	/* Run gnuplot, `jobs` at a time, reaping in order (only our own children). */
	unsigned jobs = o->jobs ? o->jobs : default_jobs();
	size_t next = 0, reap = 0;
	bool missing = false;
	while (reap < p.n) {
		while (!missing && next < p.n && next - reap < jobs) {
			struct kq_plot *pl = p.plots[next];
			char *script = NULL;
			int serr = 0;
			if (write_script(&p, pl, &script) != 0) {
				out->v[next].error = strdup("cannot write the gnuplot script");
			} else if (spawn_gnuplot(pl, script, &serr) != 0) {
				if (serr == ENOENT || serr == EACCES) {
					missing = true;
					out->error = xasprintf(
					    "%s: %s; charts are left out (install gnuplot, "
					    "Debian package gnuplot-nox)",
					    kq_gnuplot_program(), strerror(serr));
				} else {
					out->v[next].error =
					    xasprintf("cannot start %s: %s", kq_gnuplot_program(),
						      strerror(serr ? serr : errno));
				}
			}
			free(script);
			next++;
		}
		struct kq_plot *pl = p.plots[reap];
		struct kq_chart *c = &out->v[reap];
		reap++;
		if (pl->pid < 0)
			continue;
		int status = 0;
		while (waitpid(pl->pid, &status, 0) < 0 && errno == EINTR)
			;
		pl->pid = -1;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			c->error = gnuplot_error(pl, status);
			continue;
		}
		if (o->svg) {
			char *path = xasprintf("%s/chart.svg", pl->dir);
			char *doc = path ? slurp(path, 0) : NULL;
			char prefix[48];
			snprintf(prefix, sizeof(prefix), "c%zu-", reap - 1);
			c->svg = doc ? inline_svg(doc, prefix, pl->title) : NULL;
			if (!c->svg)
				c->error =
				    xasprintf("gnuplot wrote no SVG (%s)", path ? path : "?");
			free(doc);
			free(path);
		}
		if (o->png) {
			char *tmp_png = xasprintf("%s/chart.png", pl->dir);
			c->png = png_path(&p, pl);
			int placed =
			    tmp_png && c->png ? place_png(tmp_png, c->png, err, errlen) : -1;
			free(tmp_png);
			if (placed == -2) {
				rc = KQ_CHARTS_EWRITE;
				goto out;
			}
			if (placed != 0 && !c->error)
				c->error =
				    xasprintf("gnuplot wrote no PNG (%s)", c->png ? c->png : "?");
			if (placed != 0) {
				free(c->png);
				c->png = NULL;
			}
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < p.n; i++) {
		if (p.plots[i]->pid > 0) {
			int st;
			waitpid(p.plots[i]->pid, &st, 0);
		}
		plot_free(p.plots[i]);
	}
	free(p.plots);
	if (!getenv("KQ_KEEP_CHART_DATA"))
		nftw(p.tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(p.tmpdir);
	if (rc)
		kq_charts_free(out);
	return rc;
}

int kq_charts_render(const struct kq_runset *rs, const struct kq_chart_opts *o,
		     struct kq_charts *out, char *err, size_t errlen)
{
	return render_kinds(rs, kq_chart_kinds, kq_chart_nkinds, NULL, o, out, err, errlen);
}

int kq_charts_render_kind(const struct kq_runset *rs, const struct kq_chart_kind *kind, void *ctx,
			  const struct kq_chart_opts *o, struct kq_charts *out, char *err,
			  size_t errlen)
{
	return render_kinds(rs, &kind, 1, ctx, o, out, err, errlen);
}

void kq_charts_free(struct kq_charts *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].id);
		free(c->v[i].kind);
		free(c->v[i].title);
		free(c->v[i].svg);
		free(c->v[i].png);
		free(c->v[i].error);
		free(c->v[i].note);
	}
	free(c->v);
	free(c->error);
	memset(c, 0, sizeof(*c));
}
void kq_tsv_field(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}
