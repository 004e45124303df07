/* Run folders or database selections, for the commands that read run sets. */
#ifndef KQ_REPORTS_DB_RUNSET_H
#define KQ_REPORTS_DB_RUNSET_H

#include "reports/runset.h"

/* ARG is a run folder or results.json (kq_runset_add), or "db:SELECTION"
 * (docs/database.md): the selected runs of the database named by
 * $KVMQUAL_DB (default results/kvmqual.sqlite), pooled into one member. */
int kq_runset_add_any(struct kq_runset *rs, const char *arg, char *err, size_t errlen);

#endif
