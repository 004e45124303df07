/* Pieces shared by the HTML report and the HTML comparison: one self-contained
 * page (inline CSS and SVG, no script) that prints well. */
#ifndef KQ_REPORTS_HTML_H
#define KQ_REPORTS_HTML_H

#include <jansson.h>

#include "reports/chart.h"
#include "reports/runset.h"
#include "core/strbuf.h"

void kq_html_begin(struct kq_buf *b, const char *title);
void kq_html_end(struct kq_buf *b, const struct kq_runset *rs);
/* The red banner for emulated hosts (nothing otherwise). */
void kq_html_emulated_banner(struct kq_buf *b, const struct kq_runset *rs);
/* A <section> with every chart as a figure (SVG inline), or why there are none. */
void kq_html_charts(struct kq_buf *b, const struct kq_charts *charts);
/* A status badge: pass / fail / skip, and compare verdicts. */
void kq_html_badge(struct kq_buf *b, const char *status);
/* A number cell; empty for NaN. */
void kq_html_num_td(struct kq_buf *b, double v);

/* The fingerprint fields a reader looks for first, in this order; the ones a
 * run has are shown before (and in compare diffs ahead of) the others. */
extern const char *const kq_host_key_fields[];
/* Fields that change on every probe (timestamps, probe durations): left out
 * of host differences. */
bool kq_host_field_volatile(const char *path);
/* A table of the key host facts of one run. */
void kq_html_host_facts(struct kq_buf *b, const struct kq_run *r);
/* The whole fingerprint as a table (an appendix of the page). */
void kq_html_host_all(struct kq_buf *b, const struct kq_run *r);

/* The host fingerprint as [path, text] pairs: nested objects give dotted
 * paths, arrays of scalars one comma-separated value, other arrays [i]. */
json_t *kq_flatten(const json_t *v);

#endif
