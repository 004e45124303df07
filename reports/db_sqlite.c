/* The SQLite backend: one file, statements prepared once per connection and
 * kept for reuse, parameters bound as text by their $N names. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "reports/cli.h"
#include "reports/db.h"

struct stmt_cache {
	struct {
		char *sql;
		sqlite3_stmt *st;
	} * v;
	size_t n, cap;
};

static sqlite3_stmt *prepared(struct kq_db *db, const char *sql, char *err, size_t errlen)
{
	struct stmt_cache *c = db->stmts;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].sql, sql) == 0)
			return c->v[i].st;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->conn, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db->conn));
		return NULL;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		void *v = realloc(c->v, cap * sizeof(*c->v));
		if (!v) {
			sqlite3_finalize(st);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].sql = strdup(sql);
	if (!c->v[c->n].sql) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->v[c->n++].st = st;
	return st;
}

static int push_row(struct kq_db_rows *rows, sqlite3_stmt *st)
{
	size_t nc = (size_t)sqlite3_column_count(st);
	char **cells = realloc(rows->cells, (rows->nrows + 1) * nc * sizeof(*cells));
	if (!cells)
		return -1;
	rows->cells = cells;
	rows->ncols = nc;
	for (size_t i = 0; i < nc; i++) {
		const unsigned char *t = sqlite3_column_text(st, (int)i);
		char *s = t ? strdup((const char *)t) : NULL;
		cells[rows->nrows * nc + i] = s;
		if (t && !s) {
			for (size_t j = 0; j < i; j++)
				free(cells[rows->nrows * nc + j]);
			return -1;
		}
	}
	rows->nrows++;
	return 0;
}

static int sq_exec(struct kq_db *db, const char *sql, size_t nparams, const char *const *params,
		   struct kq_db_rows *rows, char *err, size_t errlen)
{
	sqlite3_stmt *st = prepared(db, sql, err, errlen);
	int rc = -1, s;
	if (!st)
		return -1;
	if ((size_t)sqlite3_bind_parameter_count(st) > nparams) {
		snprintf(err, errlen, "takes %d parameters, %zu given",
			 sqlite3_bind_parameter_count(st), nparams);
		return -1;
	}
	for (size_t i = 0; i < nparams; i++) {
		char name[24];
		snprintf(name, sizeof(name), "$%zu", i + 1);
		int idx = sqlite3_bind_parameter_index(st, name);
		if (!idx)
			continue;
		s = params[i] ? sqlite3_bind_text(st, idx, params[i], -1, SQLITE_TRANSIENT)
			      : sqlite3_bind_null(st, idx);
		if (s != SQLITE_OK) {
			snprintf(err, errlen, "binding $%zu: %s", i + 1, sqlite3_errmsg(db->conn));
			goto out;
		}
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (rows && push_row(rows, st) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (s != SQLITE_DONE) {
		int code = sqlite3_extended_errcode(db->conn) & 0xff;
		if (code == SQLITE_FULL || code == SQLITE_IOERR)
			db->storage_failed = true;
		snprintf(err, errlen, "%s", sqlite3_errmsg(db->conn));
		goto out;
	}
	if (rows && !rows->ncols)
		rows->ncols = (size_t)sqlite3_column_count(st);
	rc = 0;
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static void sq_close(struct kq_db *db)
{
	struct stmt_cache *c = db->stmts;
	for (size_t i = 0; c && i < c->n; i++) {
		sqlite3_finalize(c->v[i].st);
		free(c->v[i].sql);
	}
	if (c)
		free(c->v);
	free(c);
	if (db->conn)
		sqlite3_close(db->conn);
	db->conn = NULL;
	db->stmts = NULL;
}

static const struct kq_db_backend sqlite_backend = {
    .name = "sqlite",
    .id_type = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .begin = "BEGIN IMMEDIATE",
    .exec = sq_exec,
    .close = sq_close,
};

int kq_db_sqlite_open(struct kq_db *db, const char *path, char *err, size_t errlen)
{
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	sqlite3 *conn = NULL;
	char msg[512];

	db->be = &sqlite_backend;
	if (slash && slash != dir) {
		*slash = '\0';
		if (kq_mkdir_p(dir) != 0) {
			db->storage_failed = true;
			snprintf(err, errlen, "%s: cannot create its folder %s: %s", path, dir,
				 strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
	if (sqlite3_open_v2(path, &conn, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open the SQLite database: %s", path,
			 conn ? sqlite3_errmsg(conn) : "out of memory");
		sqlite3_close(conn);
		return -1;
	}
	db->conn = conn;
	db->stmts = calloc(1, sizeof(struct stmt_cache));
	if (!db->stmts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* several `kvmqual db add` at once (a fleet's controller) wait for each other */
	sqlite3_busy_timeout(conn, 30000);
	if (kq_db_exec(db, "PRAGMA foreign_keys = ON", 0, NULL, NULL, msg, sizeof(msg)) != 0) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	return 0;
}
