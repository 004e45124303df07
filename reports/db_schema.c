/* The results database's schema, one list of migrations for both backends
 * (docs/database.md describes the tables). kq_meta.schema_version says which
 * migrations ran; kq_db_migrate applies the missing ones in one transaction.
 * "@ID" in a statement stands for the backend's auto-numbered primary key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db.h"

static const char *const v1[] = {
    "CREATE TABLE hosts ("
    " id @ID,"
    " fingerprint TEXT NOT NULL UNIQUE,"
    " hostname TEXT NOT NULL,"
    " cpu_vendor TEXT, cpu_brand TEXT, microcode TEXT, kernel TEXT,"
    " kvm_params TEXT, mitigations TEXT, thp TEXT, environment TEXT,"
    " first_seen TEXT NOT NULL)",

    "CREATE TABLE runs ("
    " id @ID,"
    " host_id BIGINT NOT NULL REFERENCES hosts(id),"
    " run_key TEXT NOT NULL UNIQUE,"
    " run_id TEXT NOT NULL, started TEXT NOT NULL, started_unix BIGINT NOT NULL,"
    " finished TEXT,"
    " environment TEXT NOT NULL, kernel TEXT, quick INTEGER, repeats INTEGER,"
    " exit_code INTEGER, tool_version TEXT, results_schema TEXT NOT NULL,"
    " total INTEGER, passed INTEGER, failed INTEGER, skipped INTEGER,"
    " source TEXT, stored_at TEXT NOT NULL, document TEXT NOT NULL)",
    "CREATE INDEX runs_host ON runs(host_id)",
    "CREATE INDEX runs_started ON runs(started_unix)",

    "CREATE TABLE tests ("
    " id @ID,"
    " run_pk BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " ordinal INTEGER NOT NULL, name TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('pass', 'fail', 'skip')),"
    " reason TEXT, workload TEXT, test_groups TEXT, duration_s DOUBLE PRECISION,"
    " config TEXT, verdict TEXT)",
    "CREATE INDEX tests_run ON tests(run_pk)",
    "CREATE INDEX tests_name ON tests(name)",

    "CREATE TABLE metrics ("
    " id @ID,"
    " test_pk BIGINT NOT NULL REFERENCES tests(id) ON DELETE CASCADE,"
    " ordinal INTEGER NOT NULL, name TEXT NOT NULL, unit TEXT NOT NULL,"
    " labels TEXT NOT NULL,"
    " n INTEGER, min DOUBLE PRECISION, max DOUBLE PRECISION, median DOUBLE PRECISION,"
    " mean DOUBLE PRECISION, p99 DOUBLE PRECISION, stddev DOUBLE PRECISION,"
    " value DOUBLE PRECISION)",
    "CREATE INDEX metrics_test ON metrics(test_pk)",
    "CREATE INDEX metrics_name ON metrics(name)",

    "CREATE TABLE metric_labels ("
    " metric_pk BIGINT NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (metric_pk, key))",

    "CREATE TABLE samples ("
    " metric_pk BIGINT NOT NULL REFERENCES metrics(id) ON DELETE CASCADE,"
    " ordinal INTEGER NOT NULL, value DOUBLE PRECISION NOT NULL,"
    " PRIMARY KEY (metric_pk, ordinal))",
    NULL,
};

/* migrations[i] brings a database from version i to i + 1 */
static const char *const *const migrations[] = {v1};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == KQ_DB_SCHEMA_VERSION,
	       "one migration per schema version");

static char *with_id_type(const char *sql, const char *id_type)
{
	size_t extra = 0;
	for (const char *p = strstr(sql, "@ID"); p; p = strstr(p + 3, "@ID"))
		extra += strlen(id_type);
	char *out = malloc(strlen(sql) + extra + 1), *o = out;
	if (!out)
		return NULL;
	for (const char *p = sql; *p;) {
		if (strncmp(p, "@ID", 3) == 0) {
			o = stpcpy(o, id_type);
			p += 3;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	return out;
}

int kq_db_schema_version(struct kq_db *db, int *version, char *err, size_t errlen)
{
	struct kq_db_rows rows;
	if (kq_db_exec(db, "SELECT value FROM kq_meta WHERE key = 'schema_version'", 0, NULL, &rows,
		       err, errlen) != 0)
		return -1;
	const char *v = kq_db_cell(&rows, 0, 0);
	*version = v ? atoi(v) : 0;
	kq_db_rows_free(&rows);
	return 0;
}

int kq_db_migrate(struct kq_db *db, char *err, size_t errlen)
{
	int version;
	if (kq_db_begin(db, err, errlen) != 0)
		return -1;
	if (kq_db_exec(db,
		       "CREATE TABLE IF NOT EXISTS kq_meta (key TEXT PRIMARY KEY, value TEXT NOT "
		       "NULL)",
		       0, NULL, NULL, err, errlen) != 0 ||
	    kq_db_schema_version(db, &version, err, errlen) != 0)
		goto fail;
	if (version > KQ_DB_SCHEMA_VERSION) {
		snprintf(err, errlen,
			 "%s: database schema version %d is newer than this kvmqual's (%d): a "
			 "newer kvmqual wrote it",
			 db->url, version, KQ_DB_SCHEMA_VERSION);
		goto fail;
	}
	for (int v = version; v < KQ_DB_SCHEMA_VERSION; v++) {
		for (const char *const *s = migrations[v]; *s; s++) {
			char *sql = with_id_type(*s, db->be->id_type);
			int rc = sql ? kq_db_exec(db, sql, 0, NULL, NULL, err, errlen) : -1;
			if (!sql)
				snprintf(err, errlen, "out of memory");
			free(sql);
			if (rc != 0)
				goto fail;
		}
	}
	if (version < KQ_DB_SCHEMA_VERSION) {
		char vs[16];
		snprintf(vs, sizeof(vs), "%d", KQ_DB_SCHEMA_VERSION);
		const char *p[] = {vs};
		if (kq_db_exec(db, "DELETE FROM kq_meta WHERE key = 'schema_version'", 0, NULL,
			       NULL, err, errlen) != 0 ||
		    kq_db_exec(db, "INSERT INTO kq_meta (key, value) VALUES ('schema_version', $1)",
			       1, p, NULL, err, errlen) != 0)
			goto fail;
	}
	return kq_db_commit(db, err, errlen);
fail:
	kq_db_rollback(db);
	return -1;
}
