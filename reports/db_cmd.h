/* The database hook of `kvmqual run --db URL`. */
#ifndef KQ_REPORTS_DB_CMD_H
#define KQ_REPORTS_DB_CMD_H

/* Stores the finished run in RUN_DIR into the database at URL; prints where,
 * or why not. Returns 0 or -1. */
int kq_db_store_finished(const char *url, const char *run_dir);

#endif
