/* A migration's measurements: as text, as JSON, and as result metrics. */
#ifndef KQ_MIG_REPORT_H
#define KQ_MIG_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "core/result.h"
#include "migration-bench/mig.h"

void kq_mig_print(FILE *f, const struct kq_mig_send_result *r);
json_t *kq_mig_json(const struct kq_mig_send_result *r);
/* Writes J (or R's JSON) to PATH whole or not at all (core/outfile.h): 0, or
 * -1 with a message naming the file and errno in err. Standard output, where
 * kq_mig_print writes, is checked once for every command by main. */
int kq_mig_save_json(const char *path, json_t *j, char *err, size_t errlen);
int kq_mig_write_json(const char *path, const struct kq_mig_send_result *r, char *err,
		      size_t errlen);
/* Metrics (migration.*) in a test result; see docs/migration.md. */
void kq_mig_add_metrics(struct kq_result *res, const struct kq_mig_send_result *r);

#endif
