#include "reports/html.h"

#include <math.h>
#include <string.h>

#include "reports/results_load.h"

static const char css[] =
    ":root{--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--pass:#1d7a35;--fail:#b3261e;"
    "--skip:#9a6700;--bg2:#f4f6f8}\n"
    "*{box-sizing:border-box}\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;"
    "color:var(--fg);margin:0 auto;max-width:1200px;padding:16px 24px}\n"
    "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:"
    "2px solid var(--line);padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .4em}\n"
    ".sub{color:var(--muted);margin:.2em 0}\n"
    "nav{margin:.8em 0;color:var(--muted)}nav a{margin-right:1em}\n"
    "a{color:#0b57b0}\n"
    ".banner{border:2px solid var(--fail);background:#fdecea;color:#7a1510;padding:.6em .9em;"
    "margin:.8em 0;font-weight:600}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:10px;margin:.6em 0}\n"
    ".card{border:1px solid var(--line);border-radius:6px;padding:.5em 1em;min-width:7em;"
    "background:var(--bg2)}.card b{display:block;font-size:1.5em}\n"
    ".card.pass b{color:var(--pass)}.card.fail b{color:var(--fail)}.card.skip "
    "b{color:var(--skip)}\n"
    "table{border-collapse:collapse;margin:.4em 0 1em;font-size:.92em;width:100%}\n"
    "th,td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}\n"
    "th{background:var(--bg2);font-weight:600}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n"
    "table.kv td:first-child{color:var(--muted);white-space:nowrap;width:1%}\n"
    ".badge{display:inline-block;padding:0 .5em;border-radius:3px;font-size:.85em;"
    "font-weight:700;text-transform:uppercase;color:#fff;background:var(--muted)}\n"
    ".badge.pass,.badge.better{background:var(--pass)}.badge.fail,.badge.worse{background:"
    "var(--fail)}.badge.skip,.badge.changed{background:var(--skip)}.badge.same{background:#6b7785}"
    "\n"
    "tr.fail td{background:#fff5f4}tr.worse td{background:#fff5f4}tr.better td{background:"
    "#f2fbf4}\n"
    "figure{margin:1em 0 2em;border:1px solid var(--line);padding:8px;break-inside:avoid}\n"
    "figcaption{color:var(--muted);font-size:.9em;margin-top:4px}\n"
    "svg.chart{width:100%;height:auto;display:block}\n"
    "code,pre{font-family:'DejaVu Sans Mono',monospace;font-size:.88em}\n"
    "td,code{overflow-wrap:anywhere}\n"
    "pre{background:var(--bg2);padding:6px 8px;white-space:pre-wrap;overflow-wrap:anywhere;"
    "margin:.3em 0}\n"
    ".muted{color:var(--muted)}.err{color:var(--fail)}\n"
    "footer{margin-top:3em;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);"
    "padding-top:.5em}\n"
    "@media print{body{max-width:none;padding:0;font-size:10pt}nav{display:none}"
    "a{color:inherit;text-decoration:none}table{font-size:8.5pt}thead{display:table-header-group}"
    "tr,figure{break-inside:avoid}h2,h3{break-after:avoid}.banner{background:none}"
    ".badge{color:#000;background:none!important;border:1px solid #000}"
    "tr.fail td,tr.worse td,tr.better td{background:none}}\n";

void kq_html_begin(struct kq_buf *b, const char *title)
{
	kq_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		       "<title>");
	kq_buf_xml(b, title);
	kq_buf_puts(b, "</title>\n<style>\n");
	kq_buf_puts(b, css);
	kq_buf_puts(b, "</style>\n</head>\n<body>\n");
}

void kq_html_end(struct kq_buf *b, const struct kq_runset *rs)
{
	kq_buf_puts(b, "<footer>");
	for (size_t i = 0; i < rs->n; i++) {
		const struct kq_run *r = &rs->runs[i];
		kq_buf_puts(b, i ? "<br>" : "");
		if (rs->n > 1)
			kq_buf_printf(b, "%s: ", r->label);
		kq_buf_xml(b, r->path);
		kq_buf_puts(b, " — written by ");
		kq_buf_xml(b, kq_jpath_str(r->root, "tool.name", "kvmqual"));
		kq_buf_puts(b, " ");
		kq_buf_xml(b, kq_jpath_str(r->root, "tool.version", "?"));
		kq_buf_puts(b, ", results schema ");
		kq_buf_xml(b, kq_jstr(r->root, "schema_version", "?"));
	}
	kq_buf_puts(b, "</footer>\n</body>\n</html>\n");
}

void kq_html_emulated_banner(struct kq_buf *b, const struct kq_runset *rs)
{
	if (!kq_runset_any_emulated(rs))
		return;
	kq_buf_puts(b, "<p class=\"banner\">Emulated host");
	if (rs->n > 1) {
		kq_buf_puts(b, " (");
		bool first = true;
		for (size_t i = 0; i < rs->n; i++)
			if (strcmp(rs->runs[i].env, "emulated") == 0) {
				kq_buf_printf(b, "%s%s", first ? "" : ", ", rs->runs[i].label);
				first = false;
			}
		kq_buf_puts(b, ")");
	}
	kq_buf_puts(b, ": KVM ran inside a software-emulated CPU. Results are functional checks; "
		       "timings are not representative of real hardware.</p>\n");
}

void kq_html_charts(struct kq_buf *b, const struct kq_charts *charts)
{
	kq_buf_puts(b, "<section id=\"charts\">\n<h2>Charts</h2>\n");
	if (charts->error) {
		kq_buf_puts(b, "<p class=\"err\">No charts: ");
		kq_buf_xml(b, charts->error);
		kq_buf_puts(b, "</p>\n");
	} else if (!charts->n) {
		kq_buf_puts(b, "<p class=\"muted\">These results hold nothing to chart.</p>\n");
	}
	for (size_t i = 0; i < charts->n; i++) {
		const struct kq_chart *c = &charts->v[i];
		kq_buf_printf(b, "<figure id=\"chart-%s\">\n", c->id);
		if (c->svg) {
			kq_buf_puts(b, c->svg);
			kq_buf_putc(b, '\n');
		}
		kq_buf_puts(b, "<figcaption>");
		kq_buf_xml(b, c->title);
		if (c->note) {
			kq_buf_puts(b, ". ");
			kq_buf_xml(b, c->note);
		}
		if (c->error) {
			kq_buf_puts(b, " <span class=\"err\">Not drawn: ");
			kq_buf_xml(b, c->error);
			kq_buf_puts(b, "</span>");
		}
		kq_buf_puts(b, "</figcaption>\n</figure>\n");
	}
	kq_buf_puts(b, "</section>\n");
}

void kq_html_badge(struct kq_buf *b, const char *status)
{
	kq_buf_puts(b, "<span class=\"badge ");
	kq_buf_xml(b, status);
	kq_buf_puts(b, "\">");
	kq_buf_xml(b, status);
	kq_buf_puts(b, "</span>");
}

void kq_html_num_td(struct kq_buf *b, double v)
{
	kq_buf_puts(b, "<td class=\"num\">");
	if (!isnan(v))
		kq_buf_human(b, v, 4);
	kq_buf_puts(b, "</td>");
}

const char *const kq_host_key_fields[] = {
    "environment",	   "hostname",	     "cpu.vendor",	"cpu.brand",
    "cpu.codename",	   "kernel.release", "kvmqual version", "topology.packages",
    "topology.cores",	   "topology.pus",   "cpu.cores",	"cpu.threads",
    "memory.mem_total_kb", "memory_bytes",   "memory.thp",	"thp",
    "kvm.vendor_module",   "kvm.module",     "kvm.api_version", "smt.active",
    "cpufreq.value",	   "governor",	     "kernel.cmdline",	NULL,
};

bool kq_host_field_volatile(const char *path)
{
	static const char *const last[] = {"probed_at", "probe_ms",  "uptime", "uptime_s",
					   "loadavg",	"timestamp", NULL};
	const char *dot = strrchr(path, '.');
	const char *name = dot ? dot + 1 : path;
	for (const char *const *l = last; *l; l++)
		if (strcmp(name, *l) == 0)
			return true;
	return false;
}

static void kv_row(struct kq_buf *b, const char *k, const char *v)
{
	kq_buf_puts(b, "<tr><td>");
	kq_buf_xml(b, k);
	kq_buf_puts(b, "</td><td>");
	kq_buf_xml(b, v);
	kq_buf_puts(b, "</td></tr>\n");
}

void kq_html_host_facts(struct kq_buf *b, const struct kq_run *r)
{
	json_t *flat = kq_flatten(json_object_get(r->root, "host")), *row;
	size_t i;
	kq_buf_puts(b, "<table class=\"kv\"><tbody>\n");
	for (const char *const *f = kq_host_key_fields; *f; f++) {
		if (strcmp(*f, "environment") == 0) {
			kv_row(b, "environment", r->env);
			continue;
		}
		if (strcmp(*f, "kvmqual version") == 0) {
			kv_row(b, "kvmqual version", kq_jpath_str(r->root, "tool.version", "?"));
			continue;
		}
		json_array_foreach(flat, i, row)
		{
			if (strcmp(json_string_value(json_array_get(row, 0)), *f) == 0) {
				kv_row(b, *f, json_string_value(json_array_get(row, 1)));
				break;
			}
		}
	}
	kq_buf_puts(b, "</tbody></table>\n");
	json_decref(flat);
}

void kq_html_host_all(struct kq_buf *b, const struct kq_run *r)
{
	json_t *flat = kq_flatten(json_object_get(r->root, "host")), *row;
	size_t i;
	kq_buf_puts(b, "<table class=\"kv\"><tbody>\n");
	json_array_foreach(flat, i, row)
	{
		const char *v = json_string_value(json_array_get(row, 1));
		kv_row(b, json_string_value(json_array_get(row, 0)), v);
	}
	kq_buf_puts(b, "</tbody></table>\n");
	json_decref(flat);
}

static void flatten_into(json_t *out, const json_t *v, struct kq_buf *path)
{
	size_t mark = path->len;
	if (json_is_object(v)) {
		const char *k;
		json_t *c;
		json_object_foreach((json_t *)v, k, c)
		{
			if (mark)
				kq_buf_putc(path, '.');
			kq_buf_puts(path, k);
			flatten_into(out, c, path);
			path->len = mark;
			if (path->p)
				path->p[mark] = '\0';
		}
		return;
	}
	if (json_is_array(v)) {
		bool scalars = true;
		size_t i;
		json_t *c;
		json_array_foreach(v, i, c)
		{
			if (json_is_object(c) || json_is_array(c))
				scalars = false;
		}
		if (!scalars) {
			json_array_foreach(v, i, c)
			{
				kq_buf_printf(path, "[%zu]", i);
				flatten_into(out, c, path);
				path->len = mark;
				path->p[mark] = '\0';
			}
			return;
		}
		struct kq_buf val = KQ_BUF_INIT;
		json_array_foreach(v, i, c)
		{
			if (i)
				kq_buf_puts(&val, ", ");
			if (json_is_string(c))
				kq_buf_puts(&val, json_string_value(c));
			else {
				char *s = json_dumps(c, JSON_ENCODE_ANY);
				kq_buf_puts(&val, s ? s : "?");
				free(s);
			}
		}
		json_array_append_new(out, json_pack("[s,s]", kq_buf_str(path), kq_buf_str(&val)));
		kq_buf_free(&val);
		return;
	}
	if (json_is_string(v)) {
		json_array_append_new(out,
				      json_pack("[s,s]", kq_buf_str(path), json_string_value(v)));
		return;
	}
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(12));
	json_array_append_new(out, json_pack("[s,s]", kq_buf_str(path), s ? s : "?"));
	free(s);
}

json_t *kq_flatten(const json_t *v)
{
	json_t *out = json_array();
	struct kq_buf path = KQ_BUF_INIT;
	kq_buf_puts(&path, "");
	flatten_into(out, v, &path);
	kq_buf_free(&path);
	return out;
}
