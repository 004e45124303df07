/* `kvmqual report`: one run as a self-contained HTML page and a Markdown
 * summary for CI comments. */
#ifndef KQ_REPORTS_REPORT_H
#define KQ_REPORTS_REPORT_H

#include "reports/chart.h"
#include "reports/runset.h"
#include "core/strbuf.h"

/* The HTML page for the first run of RS, charts inline (their SVG). */
void kq_report_html(const struct kq_runset *rs, const struct kq_charts *charts, struct kq_buf *out);
/* The Markdown summary; charts are linked as PNG files under PNG_REL (a path
 * relative to the Markdown file), left out when PNG_REL is NULL. */
void kq_report_md(const struct kq_runset *rs, const struct kq_charts *charts, const char *png_rel,
		  struct kq_buf *out);

/* Rows of the Markdown summary's tables before "... N more" (keeps CI comments short). */
#define KQ_MD_MAX_ROWS 60

#endif
