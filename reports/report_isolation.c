/* The report's isolation section: every test of group "isolation" with its
 * status, its message and its evidence in short (the evidence objects'
 * scalar fields, one level deep), so a reader sees what each verdict rests
 * on without opening the details. */
#include "reports/report_isolation.h"
#include "reports/html.h"
#include "reports/results_load.h"

#include <stdlib.h>
#include <string.h>

static bool in_isolation(const json_t *test)
{
	json_t *g = json_object_get(test, "groups"), *v;
	size_t i;
	json_array_foreach(g, i, v)
	{
		if (json_string_value(v) && strcmp(json_string_value(v), "isolation") == 0)
			return true;
	}
	return false;
}

static void scalar(struct kq_buf *b, const char *key, const json_t *v)
{
	kq_buf_xml(b, key);
	kq_buf_puts(b, "=");
	char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
	kq_buf_xml(b, s ? s : "?");
	free(s);
}

/* "k=v; k=v" for the evidence's scalars and arrays of scalars, and those of
 * its objects as k.k2=v, three levels deep at most. */
static void evidence_text(struct kq_buf *b, const json_t *ev, struct kq_buf *path, int depth,
			  bool *first)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ev, k, v)
	{
		size_t mark = path->len;
		kq_buf_printf(path, "%s%s", mark ? "." : "", k);
		if (json_is_object(v)) {
			if (depth < 3)
				evidence_text(b, v, path, depth + 1, first);
		} else if (!json_is_array(v) || json_array_size(v) <= 8) {
			kq_buf_puts(b, *first ? "" : "; ");
			*first = false;
			scalar(b, kq_buf_str(path), v);
		}
		path->len = mark;
		if (path->p)
			path->p[mark] = '\0';
	}
}

bool kq_report_has_isolation(const struct kq_run *r)
{
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(r->root, "tests"), i, t)
	{
		if (in_isolation(t))
			return true;
	}
	return false;
}

void kq_html_isolation(struct kq_buf *b, const struct kq_run *r)
{
	if (!kq_report_has_isolation(r))
		return;
	kq_buf_puts(b, "<section id=\"isolation\">\n<h2>Isolation</h2>\n"
		       "<p class=\"muted\">What one tenant can see of, or do to, another. The "
		       "covert-channel capacity and the noisy-neighbour slowdowns are charted "
		       "under <a href=\"#charts\">Charts</a>; lower is better for both.</p>\n"
		       "<table><thead><tr><th>test</th><th>status</th><th>result</th>"
		       "<th>evidence</th></tr></thead><tbody>\n");
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(r->root, "tests"), i, t)
	{
		if (!in_isolation(t))
			continue;
		const char *st = kq_jstr(t, "status", "?");
		kq_buf_printf(b, "<tr class=\"%s\"><td><a href=\"#t%zu\">",
			      strcmp(st, "fail") ? "" : "fail", i);
		kq_buf_xml(b, kq_jstr(t, "name", "?"));
		kq_buf_puts(b, "</a></td><td>");
		kq_html_badge(b, st);
		kq_buf_puts(b, "</td><td>");
		kq_buf_xml(b, kq_jstr(t, "reason", ""));
		kq_buf_puts(b, "</td><td class=\"evidence\"><code>");
		struct kq_buf path = KQ_BUF_INIT;
		bool first = true;
		evidence_text(b, json_object_get(t, "evidence"), &path, 1, &first);
		kq_buf_free(&path);
		kq_buf_puts(b, "</code></td></tr>\n");
	}
	kq_buf_puts(b, "</tbody></table>\n</section>\n");
}
