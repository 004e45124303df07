/* The database interface the commands use: URL resolution, backend choice,
 * statement errors, transactions. The backends live in db_sqlite.c and db_pg.c. */
#include "reports/db.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kq_db_sqlite_open(struct kq_db *db, const char *path, char *err, size_t errlen);
int kq_db_pg_open(struct kq_db *db, const char *conninfo, char *err, size_t errlen);

const char *kq_db_resolve_url(const char *url)
{
	if (url && *url)
		return url;
	const char *env = getenv(KQ_DB_ENV);
	return env && *env ? env : KQ_DB_DEFAULT_PATH;
}

static bool has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db" */
static char *mask_password(const char *url)
{
	char *s = strdup(url);
	char *scheme = s ? strstr(s, "://") : NULL;
	if (!scheme)
		return s;
	char *at = strchr(scheme + 3, '@');
	char *colon = strchr(scheme + 3, ':');
	if (at && colon && colon < at) {
		char *m = NULL;
		if (asprintf(&m, "%.*s:***%s", (int)(colon - s), s, at) < 0)
			return s;
		free(s);
		return m;
	}
	return s;
}

int kq_db_open(const char *url, struct kq_db **out, char *err, size_t errlen)
{
	struct kq_db *db = calloc(1, sizeof(*db));
	int rc;

	*out = NULL;
	url = kq_db_resolve_url(url);
	if (!db || !(db->url = mask_password(url))) {
		free(db);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (has_prefix(url, "postgresql://") || has_prefix(url, "postgres://"))
		rc = kq_db_pg_open(db, url, err, errlen);
	else if (has_prefix(url, "postgresql:"))
		rc = kq_db_pg_open(db, url + strlen("postgresql:"), err, errlen);
	else if (has_prefix(url, "sqlite:"))
		rc = kq_db_sqlite_open(db, url + strlen("sqlite:"), err, errlen);
	else if (strstr(url, "://")) {
		snprintf(err, errlen,
			 "%s: unknown database kind (known: a file path or sqlite:PATH for "
			 "SQLite, postgresql://... for PostgreSQL)",
			 db->url);
		rc = -1;
	} else
		rc = kq_db_sqlite_open(db, url, err, errlen);
	if (rc == 0)
		rc = kq_db_migrate(db, err, errlen);
	if (rc != 0) {
		bool storage = db->storage_failed;
		kq_db_close(db);
		return storage ? KQ_DB_ESTORAGE : -1;
	}
	*out = db;
	return 0;
}

void kq_db_close(struct kq_db *db)
{
	if (!db)
		return;
	if (db->in_transaction)
		kq_db_rollback(db);
	if (db->be)
		db->be->close(db);
	free(db->url);
	free(db);
}

void kq_db_stmt_name(const char *sql, char *out, size_t len)
{
	size_t o = 0;
	bool space = false;
	if (!len)
		return;
	for (const char *p = sql; *p && o + 4 < len && o < 72; p++) {
		if (isspace((unsigned char)*p)) {
			space = o > 0;
			continue;
		}
		if (space)
			out[o++] = ' ';
		space = false;
		out[o++] = *p;
	}
	if (*sql && strlen(sql) > o && o + 4 < len && o >= 72) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void kq_db_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int kq_db_exec(struct kq_db *db, const char *sql, size_t nparams, const char *const *params,
	       struct kq_db_rows *rows, char *err, size_t errlen)
{
	char msg[600];
	if (rows)
		memset(rows, 0, sizeof(*rows));
	if (db->be->exec(db, sql, nparams, params, rows, msg, sizeof(msg)) == 0)
		return 0;
	char name[96];
	kq_db_stmt_name(sql, name, sizeof(name));
	/* vsnprintf: a long message is cut, which is what we want */
	kq_db_errf(err, errlen, "%s: statement \"%s\": %s", db->url, name, msg);
	if (rows)
		kq_db_rows_free(rows);
	return -1;
}

void kq_db_rows_free(struct kq_db_rows *rows)
{
	if (!rows)
		return;
	for (size_t i = 0; i < rows->nrows * rows->ncols; i++)
		free(rows->cells ? rows->cells[i] : NULL);
	free(rows->cells);
	memset(rows, 0, sizeof(*rows));
}

const char *kq_db_cell(const struct kq_db_rows *rows, size_t row, size_t col)
{
	if (row >= rows->nrows || col >= rows->ncols)
		return NULL;
	return rows->cells[row * rows->ncols + col];
}

int kq_db_begin(struct kq_db *db, char *err, size_t errlen)
{
	if (kq_db_exec(db, db->be->begin, 0, NULL, NULL, err, errlen) != 0)
		return -1;
	db->in_transaction = true;
	return 0;
}

int kq_db_commit(struct kq_db *db, char *err, size_t errlen)
{
	int rc = kq_db_exec(db, "COMMIT", 0, NULL, NULL, err, errlen);
	if (rc != 0)
		kq_db_rollback(db);
	db->in_transaction = false;
	return rc;
}

void kq_db_rollback(struct kq_db *db)
{
	char err[256];
	(void)kq_db_exec(db, "ROLLBACK", 0, NULL, NULL, err, sizeof(err));
	db->in_transaction = false;
}
