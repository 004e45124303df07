/* The results database: one small interface over two backends, SQLite (an
 * embedded file, the default) and PostgreSQL (a shared server, libpq). SQL is
 * written once in the subset both understand, with $1, $2... parameters; the
 * backends prepare each statement once per connection and bind parameters as
 * text, so no user data is ever spliced into SQL. Every failure names the
 * statement and carries the database's own message. Schema: docs/database.md. */
#ifndef KQ_REPORTS_DB_H
#define KQ_REPORTS_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define KQ_DB_DEFAULT_PATH "results/kvmqual.sqlite"
#define KQ_DB_ENV	   "KVMQUAL_DB" /* the database when no --db is given */

/* Rows of a query, as text (NULL for SQL NULL), row-major. */
struct kq_db_rows {
	size_t nrows, ncols;
	char **cells;
};

struct kq_db;

/* What a backend provides (db_sqlite.c, db_pg.c). */
struct kq_db_backend {
	const char *name;    /* "sqlite", "postgresql" */
	const char *id_type; /* the DDL of an auto-numbered primary key */
	/* Starts a transaction that writers take one at a time, so concurrent
	 * `db add`s (a fleet's controller) and schema migrations serialise. */
	const char *begin;
	/* Runs SQL with NPARAMS text parameters; fills ROWS when non-NULL.
	 * Returns 0, or -1 with the database's message in err. */
	int (*exec)(struct kq_db *db, const char *sql, size_t nparams, const char *const *params,
		    struct kq_db_rows *rows, char *err, size_t errlen);
	void (*close)(struct kq_db *db);
};

struct kq_db {
	const struct kq_db_backend *be;
	void *conn;	     /* the backend's handle */
	void *stmts;	     /* the backend's prepared statements */
	char *url;	     /* as given, for messages (a password is masked) */
	bool in_transaction; /* a kq_db_begin without commit or rollback */
	/* A statement failed for the storage (disk full, I/O error): the
	 * database could not be written, an output failure (exit 4). */
	bool storage_failed;
};

/* URL: NULL or "" for $KVMQUAL_DB, else results/kvmqual.sqlite; "sqlite:PATH"
 * or a plain PATH for SQLite; "postgresql://..." or "postgres://..." (or a
 * libpq "key=value" string after "postgresql:") for PostgreSQL. Opens, then
 * creates or migrates the schema (db_schema.c). Returns 0, or -1 with a
 * message; KQ_DB_ESTORAGE (-2) when the storage failed (see storage_failed). */
#define KQ_DB_ESTORAGE (-2)
int kq_db_open(const char *url, struct kq_db **out, char *err, size_t errlen);
void kq_db_close(struct kq_db *db);
/* The URL kq_db_open would use for URL (the default resolved). */
const char *kq_db_resolve_url(const char *url);

/* One statement; errors read "STATEMENT: MESSAGE" where STATEMENT is the SQL's
 * first words. ROWS may be NULL; free it with kq_db_rows_free. */
int kq_db_exec(struct kq_db *db, const char *sql, size_t nparams, const char *const *params,
	       struct kq_db_rows *rows, char *err, size_t errlen);
void kq_db_rows_free(struct kq_db_rows *rows);
const char *kq_db_cell(const struct kq_db_rows *rows, size_t row, size_t col);

/* A write transaction (the backend's `begin`: one writer at a time). */
int kq_db_begin(struct kq_db *db, char *err, size_t errlen);
int kq_db_commit(struct kq_db *db, char *err, size_t errlen);
void kq_db_rollback(struct kq_db *db); /* best effort: the error that led here is the one told */

/* snprintf without the truncation warning: messages may be cut short. */
void kq_db_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* For messages: the first words of a statement, whitespace squeezed. */
void kq_db_stmt_name(const char *sql, char *out, size_t len);

/* ---- schema (db_schema.c) ---- */
#define KQ_DB_SCHEMA_VERSION 1
/* Creates the tables or brings an older schema up to KQ_DB_SCHEMA_VERSION, in
 * one transaction; refuses a database written by a newer kvmqual. */
int kq_db_migrate(struct kq_db *db, char *err, size_t errlen);
int kq_db_schema_version(struct kq_db *db, int *version, char *err, size_t errlen);

/* ---- storing runs (db_store.c) ---- */
/* The comparison facts of a run's host (results.json "host"): hostname, CPU,
 * microcode, kernel, KVM module parameters, mitigations, THP, environment;
 * and a fingerprint over all of them. Strings are owned by FACTS. */
struct kq_host_facts {
	char fingerprint[17]; /* 64-bit FNV-1a of the canonical JSON of the facts, hex */
	json_t *facts;	      /* {"hostname", "cpu_vendor", "cpu_brand", "microcode", "kernel",
				 "kvm_params", "mitigations", "thp", "environment"} */
};
int kq_host_facts(const json_t *root, struct kq_host_facts *out);
void kq_host_facts_free(struct kq_host_facts *f);

enum kq_db_add { KQ_DB_ADDED, KQ_DB_ALREADY };
/* Loads PATH_OR_DIR with kq_results_load (so a partial or corrupt folder is
 * refused with the loader's reason) and stores it in one transaction. A run
 * already stored (same host fingerprint, run id and document digest: two runs
 * started in the same second on one host stay apart) is left as it is.
 * Returns 0 with *what set, or -1 with a message (nothing stored). */
int kq_db_add_run(struct kq_db *db, const char *path_or_dir, enum kq_db_add *what,
		  long long *run_pk, char *err, size_t errlen);
/* The same for a document already loaded and checked; SOURCE names it. */
int kq_db_add_json(struct kq_db *db, json_t *root, const char *source, enum kq_db_add *what,
		   long long *run_pk, char *err, size_t errlen);

/* ---- selecting runs (db_select.c) ---- */
/* A selection: "key=value,key=value" with keys host, kernel, run, env,
 * microcode, thp, fingerprint (exact), since, until (ISO dates, on the run's
 * start). An empty selection picks every run. */
struct kq_db_sel {
	const char *host, *kernel, *run, *env, *microcode, *thp, *fingerprint, *since, *until;
	char *buf; /* owns the strings */
};
int kq_db_sel_parse(const char *text, struct kq_db_sel *sel, char *err, size_t errlen);
void kq_db_sel_free(struct kq_db_sel *sel);
/* Primary keys of the selected runs in time order (started, then id).
 * Returns 0 (maybe none) or -1 with a message. *pks is malloc'd. */
int kq_db_select_runs(struct kq_db *db, const struct kq_db_sel *sel, long long **pks, size_t *n,
		      char *err, size_t errlen);
/* The stored results.json of one run (a new reference). */
int kq_db_run_document(struct kq_db *db, long long pk, json_t **out, char *err, size_t errlen);

#endif
