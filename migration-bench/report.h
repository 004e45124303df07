/* A migration's measurements: as text, as JSON, and as result metrics. */
#ifndef KQ_MIG_REPORT_H
#define KQ_MIG_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "core/result.h"
#include "migration-bench/mig.h"

void kq_mig_print(FILE *f, const struct kq_mig_send_result *r);
json_t *kq_mig_json(const struct kq_mig_send_result *r);
int kq_mig_write_json(const char *path, const struct kq_mig_send_result *r);
/* Metrics (migration.*) in a test result; see docs/migration.md. */
void kq_mig_add_metrics(struct kq_result *res, const struct kq_mig_send_result *r);

#endif
