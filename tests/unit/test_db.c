/* The results database, against SQLite by default or the database named by
 * $KQ_TEST_DB_URL (tests/db/db.sh runs this against a throwaway PostgreSQL
 * too): schema creation and versions, storing runs once, refusing bad runs
 * with nothing half-stored, selections, statement errors, and history. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/db.h"
#include "reports/history.h"
#include "reports/results_load.h"
#include "tests/tap.h"

#define FIX "tests/fixtures/results/"

static char url[4096];

static long long count(struct kq_db *db, const char *sql)
{
	struct kq_db_rows rows;
	char err[1024];
	if (kq_db_exec(db, sql, 0, NULL, &rows, err, sizeof(err)) != 0) {
		printf("# %s\n", err);
		return -1;
	}
	long long n = kq_db_cell(&rows, 0, 0) ? atoll(kq_db_cell(&rows, 0, 0)) : -1;
	kq_db_rows_free(&rows);
	return n;
}

static long long json_samples(const char *path)
{
	json_t *root;
	char err[512];
	long long n = 0;
	if (kq_results_load(path, &root, err, sizeof(err)) != 0)
		return -1;
	json_t *t, *m;
	size_t i, j;
	json_array_foreach(json_object_get(root, "tests"), i, t)
	{
		json_array_foreach(json_object_get(t, "metrics"), j, m) n +=
		    (long long)json_array_size(json_object_get(m, "samples"));
	}
	json_decref(root);
	return n;
}

static void test_store(struct kq_db *db)
{
	char err[1024];
	enum kq_db_add what;
	long long pk = 0, pk2 = 0;
	int v = 0, rc;
	rc = kq_db_schema_version(db, &v, err, sizeof(err));
	ok(rc == 0 && v == KQ_DB_SCHEMA_VERSION, "schema created at version %d (%s)", v,
	   db->be->name);

	rc = kq_db_add_run(db, FIX "emulated-quick", &what, &pk, err, sizeof(err));
	if (!ok(rc == 0 && what == KQ_DB_ADDED, "a run is stored"))
		printf("# %s\n", err);
	rc = kq_db_add_run(db, FIX "nested-xeon", &what, NULL, err, sizeof(err));
	ok(rc == 0 && what == KQ_DB_ADDED, "a second host's run is stored");
	is_int(count(db, "SELECT COUNT(*) FROM samples"),
	       json_samples(FIX "emulated-quick") + json_samples(FIX "nested-xeon"),
	       "every sample is stored");
	is_int(count(db, "SELECT COUNT(*) FROM tests"), 9 + 9, "every test is stored");
	rc = kq_db_add_run(db, FIX "emulated-quick/results.json", &what, &pk2, err, sizeof(err));
	ok(rc == 0 && what == KQ_DB_ALREADY && pk2 == pk, "the same run again is stored once");
	is_int(count(db, "SELECT COUNT(*) FROM runs"), 2, "two runs");
	is_int(count(db, "SELECT COUNT(*) FROM hosts"), 2, "two hosts, by fingerprint");
	is_int(count(db, "SELECT COUNT(*) FROM metric_labels WHERE key = 'handled_in'"),
	       count(db, "SELECT COUNT(*) FROM metrics m WHERE labels LIKE '%handled_in=%'"),
	       "labels stored, handled_in included");
	is_int(count(db, "SELECT COUNT(*) FROM tests WHERE status = 'fail'"), 1, "statuses kept");

	rc = kq_db_add_run(db, FIX "invalid/wrong-type.json", &what, NULL, err, sizeof(err));
	ok(rc != 0, "a corrupt run is refused");
	has_substr(err, "tests[1].metrics[0].stats.median", "with the loader's reason");
	rc = kq_db_add_run(db, "/nonexistent/run", &what, NULL, err, sizeof(err));
	ok(rc != 0, "a missing run folder is refused");

	/* a document the loader passes but the database refuses half-way */
	json_t *root;
	kq_results_load(FIX "minimal", &root, err, sizeof(err));
	json_t *bad = json_deep_copy(json_array_get(json_object_get(root, "tests"), 0));
	json_object_set_new(bad, "status", json_string("bogus"));
	json_array_append_new(json_object_get(root, "tests"), bad);
	json_object_set_new(json_object_get(root, "host"), "hostname", json_string("half-host"));
	rc = kq_db_add_json(db, root, "half", &what, NULL, err, sizeof(err));
	json_decref(root);
	ok(rc != 0, "a run the database refuses in its last test fails");
	has_substr(err, "INSERT INTO tests", "the error names the statement");
	is_int(count(db, "SELECT COUNT(*) FROM runs"), 2, "nothing of it is stored (runs)");
	is_int(count(db, "SELECT COUNT(*) FROM hosts WHERE hostname = 'half-host'"), 0,
	       "nor its host");

	rc = kq_db_exec(db, "SELECT nosuchcolumn FROM runs", 0, NULL, NULL, err, sizeof(err));
	ok(rc != 0, "a bad statement fails");
	has_substr(err, "SELECT nosuchcolumn FROM runs", "naming the statement");
	has_substr(err, "nosuchcolumn", "with the database's message");
}

static void test_select(struct kq_db *db)
{
	struct kq_db_sel sel;
	long long *pks;
	size_t n;
	char err[1024];
	ok(kq_db_sel_parse("host=gpu-node-17", &sel, err, sizeof(err)) == 0 &&
	       kq_db_select_runs(db, &sel, &pks, &n, err, sizeof(err)) == 0 && n == 1,
	   "select by host");
	kq_db_sel_free(&sel);
	free(pks);
	ok(kq_db_sel_parse("kernel=6.1.0-56-amd64,since=2026-11-26", &sel, err, sizeof(err)) == 0 &&
	       kq_db_select_runs(db, &sel, &pks, &n, err, sizeof(err)) == 0 && n == 1,
	   "select by kernel and date");
	json_t *doc = NULL;
	ok(n == 1 && kq_db_run_document(db, pks[0], &doc, err, sizeof(err)) == 0 &&
	       strcmp(kq_jpath_str(doc, "host.hostname", ""), "kq-sandbox") == 0,
	   "the stored document reads back and passes the loader's checks");
	json_decref(doc);
	kq_db_sel_free(&sel);
	free(pks);
	ok(kq_db_sel_parse("until=2026-01-01", &sel, err, sizeof(err)) == 0 &&
	       kq_db_select_runs(db, &sel, &pks, &n, err, sizeof(err)) == 0 && n == 0,
	   "an empty selection");
	kq_db_sel_free(&sel);
	free(pks);
	ok(kq_db_sel_parse("colour=red", &sel, err, sizeof(err)) != 0, "an unknown key is refused");
	has_substr(err, "unknown key \"colour\"", "naming the key");
	ok(kq_db_sel_parse("since=yesterday", &sel, err, sizeof(err)) != 0,
	   "a bad date is refused");
}

/* Six runs of one host, the cpuid median 20% higher from the fourth on. */
static void test_history(struct kq_db *db)
{
	char err[1024];
	static const double scale[] = {1.00, 1.01, 0.99, 1.20, 1.21, 1.19};
	for (int i = 0; i < 6; i++) {
		json_t *root;
		enum kq_db_add what;
		kq_results_load(FIX "nested-xeon", &root, err, sizeof(err));
		char id[32], started[32];
		snprintf(id, sizeof(id), "2026120%dT000000Z", i + 1);
		snprintf(started, sizeof(started), "2026-12-0%dT00:00:00Z", i + 1);
		json_t *run = json_object_get(root, "run");
		json_object_set_new(run, "id", json_string(id));
		json_object_set_new(run, "started", json_string(started));
		json_object_set_new(json_object_get(root, "host"), "hostname", json_string("hist"));
		json_object_set_new(json_object_get(json_object_get(root, "host"), "kernel"),
				    "release", json_string(i < 3 ? "6.1.0-1" : "6.1.0-2"));
		json_t *t, *m, *s;
		size_t a, b, c;
		json_array_foreach(json_object_get(root, "tests"), a, t)
		{
			json_array_foreach(json_object_get(t, "metrics"), b, m)
			{
				json_t *arr = json_object_get(m, "samples");
				json_array_foreach(arr, c, s) json_array_set_new(
				    arr, c, json_real(json_number_value(s) * scale[i]));
			}
		}
		if (kq_db_add_json(db, root, id, &what, NULL, err, sizeof(err)) != 0)
			printf("# %s\n", err);
		json_decref(root);
	}
	struct kq_hist_query q = {.metric = "cpuid.ns", .host = "hist", .test = "exit.cpuid"};
	struct kq_cp_opts cp;
	struct kq_history h;
	kq_cp_opts_default(&cp);
	int rc = kq_history_build(db, &q, &cp, &h, err, sizeof(err));
	if (!ok(rc == 0 && h.n == 1 && h.v[0].n == 6, "history: one series of six runs"))
		printf("# %s\n", err);
	if (rc == 0 && h.n == 1) {
		ok(h.v[0].nchanges == 1 && h.v[0].changes[0].at == 3,
		   "the planted step is found between runs 3 and 4");
		ok(h.v[0].pts[0].lo <= h.v[0].pts[0].median &&
		       h.v[0].pts[0].median <= h.v[0].pts[0].hi,
		   "each median has its interval");
		struct kq_buf b = KQ_BUF_INIT;
		kq_history_text(&h, &b);
		has_substr(kq_buf_str(&b), "kernel 6.1.0-1) and run 4", "listed with the kernels");
		kq_buf_free(&b);
	}
	kq_history_free(&h);
}

static void test_versions(void)
{
	struct kq_db *db;
	char err[1024];
	ok(kq_db_open(url, &db, err, sizeof(err)) == 0, "reopening an existing database");
	kq_db_exec(db, "UPDATE kq_meta SET value = '99' WHERE key = 'schema_version'", 0, NULL,
		   NULL, err, sizeof(err));
	kq_db_close(db);
	ok(kq_db_open(url, &db, err, sizeof(err)) != 0, "a newer schema is refused");
	has_substr(err, "schema version 99 is newer", "saying so");
	ok(kq_db_open("mysql://x/y", &db, err, sizeof(err)) != 0, "an unknown kind of URL");
}

int main(void)
{
	const char *env = getenv("KQ_TEST_DB_URL");
	char tmpl[] = "/tmp/kq-test-db.XXXXXX";
	char *dir = NULL;
	if (env && *env) {
		snprintf(url, sizeof(url), "%s", env);
	} else {
		dir = mkdtemp(tmpl);
		snprintf(url, sizeof(url), "%s/t.sqlite", dir ? dir : "/tmp");
	}
	struct kq_db *db;
	char err[1024];
	if (!ok(kq_db_open(url, &db, err, sizeof(err)) == 0, "open %s", url)) {
		printf("# %s\n", err);
		return done_testing();
	}
	test_store(db);
	test_select(db);
	test_history(db);
	kq_db_close(db);
	test_versions();
	if (dir) {
		char path[4200];
		snprintf(path, sizeof(path), "%s/t.sqlite", dir);
		unlink(path);
		rmdir(dir);
	}
	return done_testing();
}
