/* Selections of stored runs ("host=node-17,kernel=6.1.0-28-amd64,since=2026-11-01"):
 * parsed into fixed parameters of one statement, never into SQL text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db.h"
#include "reports/db_time.h"
#include "reports/results_load.h"

int kq_db_sel_parse(const char *text, struct kq_db_sel *sel, char *err, size_t errlen)
{
	memset(sel, 0, sizeof(*sel));
	sel->buf = strdup(text ? text : "");
	if (!sel->buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	char *save = NULL;
	for (char *item = strtok_r(sel->buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (!eq || eq == item) {
			snprintf(err, errlen,
				 "selection \"%s\": \"%s\" is not key=value (keys: host, kernel, "
				 "run, env, microcode, thp, fingerprint, since, until)",
				 text, item);
			goto fail;
		}
		*eq = '\0';
		const char *v = eq + 1;
		static const char *const keys[] = {"host",	  "kernel",    "run",
						   "env",	  "microcode", "thp",
						   "fingerprint", "since",     "until"};
		const char **slot[] = {&sel->host,	  &sel->kernel,	   &sel->run,
				       &sel->env,	  &sel->microcode, &sel->thp,
				       &sel->fingerprint, &sel->since,	   &sel->until};
		size_t k = 0;
		while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], item) != 0)
			k++;
		if (k == sizeof(keys) / sizeof(keys[0])) {
			snprintf(err, errlen,
				 "selection \"%s\": unknown key \"%s\" (keys: host, kernel, run, "
				 "env, microcode, thp, fingerprint, since, until)",
				 text, item);
			goto fail;
		}
		time_t t;
		if ((k == 7 || k == 8) && kq_time_parse(v, &t) != 0) {
			snprintf(err, errlen,
				 "selection \"%s\": %s: \"%s\" is not a date (YYYY-MM-DD or "
				 "YYYY-MM-DDTHH:MM:SSZ)",
				 text, item, v);
			goto fail;
		}
		*slot[k] = v;
	}
	return 0;
fail:
	kq_db_sel_free(sel);
	return -1;
}

void kq_db_sel_free(struct kq_db_sel *sel)
{
	free(sel->buf);
	memset(sel, 0, sizeof(*sel));
}

int kq_db_select_runs(struct kq_db *db, const struct kq_db_sel *sel, long long **pks, size_t *n,
		      char *err, size_t errlen)
{
	char since[32] = "", until[32] = "";
	time_t t;
	struct kq_db_rows rows;

	*pks = NULL;
	*n = 0;
	if (sel->since && kq_time_parse(sel->since, &t) == 0)
		snprintf(since, sizeof(since), "%lld", (long long)t);
	/* a bare date as "until" takes the whole day */
	if (sel->until && kq_time_parse(sel->until, &t) == 0)
		snprintf(until, sizeof(until), "%lld",
			 (long long)t + (strlen(sel->until) == 10 ? 86399 : 0));
	const char *p[] = {sel->host,	     sel->kernel,	    sel->run,
			   sel->env,	     sel->microcode,	    sel->thp,
			   sel->fingerprint, *since ? since : NULL, *until ? until : NULL};
	/* absent keys are NULL parameters; the casts tell PostgreSQL their types */
	if (kq_db_exec(db,
		       "SELECT r.id FROM runs r JOIN hosts h ON h.id = r.host_id"
		       " WHERE (CAST($1 AS TEXT) IS NULL OR h.hostname = $1)"
		       " AND (CAST($2 AS TEXT) IS NULL OR r.kernel = $2)"
		       " AND (CAST($3 AS TEXT) IS NULL OR r.run_id = $3)"
		       " AND (CAST($4 AS TEXT) IS NULL OR r.environment = $4)"
		       " AND (CAST($5 AS TEXT) IS NULL OR h.microcode = $5)"
		       " AND (CAST($6 AS TEXT) IS NULL OR h.thp = $6)"
		       " AND (CAST($7 AS TEXT) IS NULL OR h.fingerprint = $7)"
		       " AND (CAST($8 AS BIGINT) IS NULL OR r.started_unix >= $8)"
		       " AND (CAST($9 AS BIGINT) IS NULL OR r.started_unix <= $9)"
		       " ORDER BY r.started_unix, r.id",
		       9, p, &rows, err, errlen) != 0)
		return -1;
	if (rows.nrows) {
		*pks = malloc(rows.nrows * sizeof(**pks));
		if (!*pks) {
			kq_db_rows_free(&rows);
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < rows.nrows; i++)
		(*pks)[i] = strtoll(kq_db_cell(&rows, i, 0), NULL, 10);
	*n = rows.nrows;
	kq_db_rows_free(&rows);
	return 0;
}

int kq_db_run_document(struct kq_db *db, long long pk, json_t **out, char *err, size_t errlen)
{
	char id[32];
	struct kq_db_rows rows;
	json_error_t je;
	snprintf(id, sizeof(id), "%lld", pk);
	const char *p[] = {id};
	*out = NULL;
	if (kq_db_exec(db, "SELECT document, source FROM runs WHERE id = $1", 1, p, &rows, err,
		       errlen) != 0)
		return -1;
	const char *doc = kq_db_cell(&rows, 0, 0);
	if (!doc) {
		snprintf(err, errlen, "%s: no stored run with id %s", db->url, id);
		kq_db_rows_free(&rows);
		return -1;
	}
	json_t *root = json_loads(doc, 0, &je);
	if (!root) {
		snprintf(err, errlen, "%s: run %s: stored document: %d:%d: %s", db->url, id,
			 je.line, je.column, je.text);
		kq_db_rows_free(&rows);
		return -1;
	}
	kq_db_rows_free(&rows);
	char what[64];
	snprintf(what, sizeof(what), "database run %s", id);
	if (kq_results_check(root, what, err, errlen) != 0) {
		json_decref(root);
		return -1;
	}
	*out = root;
	return 0;
}
