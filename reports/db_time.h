/* ISO 8601 UTC times as results.json writes them, for the database. */
#ifndef KQ_REPORTS_DB_TIME_H
#define KQ_REPORTS_DB_TIME_H

#include <time.h>

/* "2026-11-26", "2026-11-26T16:00:00Z" or with fractional seconds; a time
 * without "Z" is read as UTC too. Returns 0, or -1 when S is not one. */
int kq_time_parse(const char *s, time_t *out);

#endif
