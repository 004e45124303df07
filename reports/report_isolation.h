/* The isolation section of the HTML report (tests of group "isolation"). */
#ifndef KQ_REPORTS_REPORT_ISOLATION_H
#define KQ_REPORTS_REPORT_ISOLATION_H

#include <stdbool.h>

#include "core/strbuf.h"
#include "reports/runset.h"

bool kq_report_has_isolation(const struct kq_run *r);
/* A table of the run's isolation tests: status, message, evidence in short;
 * nothing when the run has none. */
void kq_html_isolation(struct kq_buf *b, const struct kq_run *r);

#endif
