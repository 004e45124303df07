/* kvmqual db add RUN... | db list [SELECTION] | db init   [--db URL] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exit_codes.h"
#include "reports/db.h"
#include "reports/db_cmd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmqual db add RUN... [--db URL]\n"
		   "       kvmqual db list [SELECTION] [--db URL]\n"
		   "       kvmqual db init [--db URL]\n"
		   "\n"
		   "The results database (docs/database.md). `add` stores run folders (or their\n"
		   "results.json), each in one transaction: a run already stored is left as it\n"
		   "is, a partial or corrupt one is refused with the reason. `list` prints the\n"
		   "stored runs a selection picks (key=value,...: host, kernel, run, env,\n"
		   "microcode, thp, fingerprint, since, until). `init` creates or migrates the\n"
		   "schema.\n"
		   "\n"
		   "  --db URL   a SQLite file (or sqlite:PATH), or postgresql://... (libpq);\n"
		   "             default $" KQ_DB_ENV ", else " KQ_DB_DEFAULT_PATH "\n"
		   "\n"
		   "Exit status: 0 done, 1 a run was refused, 2 bad usage or no database,\n"
		   "4 the database or standard output could not be written (disk full).\n");
}

static int list(struct kq_db *db, const char *selection)
{
	struct kq_db_sel sel;
	long long *pks = NULL;
	size_t n = 0;
	char err[1024];
	if (kq_db_sel_parse(selection, &sel, err, sizeof(err)) != 0 ||
	    kq_db_select_runs(db, &sel, &pks, &n, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual db: %s\n", err);
		kq_db_sel_free(&sel);
		return 2;
	}
	kq_db_sel_free(&sel);
	printf("%-6s %-20s %-20s %-16s %-24s %-10s %s\n", "id", "run", "started", "host", "kernel",
	       "env", "pass/fail/skip");
	for (size_t i = 0; i < n; i++) {
		char id[32];
		struct kq_db_rows rows;
		snprintf(id, sizeof(id), "%lld", pks[i]);
		const char *p[] = {id};
		if (kq_db_exec(db,
			       "SELECT r.run_id, r.started, h.hostname, r.kernel, r.environment,"
			       " r.passed, r.failed, r.skipped FROM runs r JOIN hosts h ON h.id = "
			       "r.host_id WHERE r.id = $1",
			       1, p, &rows, err, sizeof(err)) != 0) {
			fprintf(stderr, "kvmqual db: %s\n", err);
			free(pks);
			return 2;
		}
#define C(k) (kq_db_cell(&rows, 0, k) ? kq_db_cell(&rows, 0, k) : "-")
		printf("%-6s %-20s %-20s %-16s %-24s %-10s %s/%s/%s\n", id, C(0), C(1), C(2), C(3),
		       C(4), C(5), C(6), C(7));
#undef C
		kq_db_rows_free(&rows);
	}
	free(pks);
	return 0;
}

int kq_db_main(int argc, char **argv)
{
	static const struct option opts[] = {{"db", required_argument, NULL, 'd'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *url = NULL;
	char err[1024];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			url = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *verb = argv[optind];
	/* options may also follow the verb */
	int vargc = argc - optind;
	char **vargv = argv + optind;
	optind = 0;
	while ((c = getopt_long(vargc, vargv, "h", opts, NULL)) != -1) {
		if (c == 'd')
			url = optarg;
		else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	int nargs = vargc - optind;
	char **args = vargv + optind;
	if (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0 && strcmp(verb, "init") != 0) {
		fprintf(stderr, "kvmqual db: unknown verb \"%s\" (add, list, init)\n", verb);
		return 2;
	}
	if (strcmp(verb, "add") == 0 && nargs < 1) {
		fprintf(stderr, "kvmqual db add: no run given\n");
		return 2;
	}
	if ((strcmp(verb, "init") == 0 && nargs > 0) || (strcmp(verb, "list") == 0 && nargs > 1)) {
		fprintf(stderr, "kvmqual db %s: unexpected argument \"%s\"\n", verb,
			args[nargs - 1]);
		return 2;
	}
	struct kq_db *db;
	int orc = kq_db_open(url, &db, err, sizeof(err));
	if (orc != 0) {
		fprintf(stderr, "kvmqual db: %s\n", err);
		return orc == KQ_DB_ESTORAGE ? KQ_EXIT_OUTPUT : KQ_EXIT_USAGE;
	}
	int rc = 0;
	if (strcmp(verb, "init") == 0) {
		int v = 0;
		if (kq_db_schema_version(db, &v, err, sizeof(err)) != 0) {
			fprintf(stderr, "kvmqual db: %s\n", err);
			rc = db->storage_failed ? KQ_EXIT_OUTPUT : KQ_EXIT_USAGE;
		} else {
			printf("%s: %s database, schema version %d\n", db->url, db->be->name, v);
		}
	} else if (strcmp(verb, "list") == 0) {
		rc = list(db, nargs ? args[0] : "");
	} else {
		for (int i = 0; i < nargs; i++) {
			enum kq_db_add what;
			long long pk = 0;
			if (kq_db_add_run(db, args[i], &what, &pk, err, sizeof(err)) != 0) {
				if (db->storage_failed) {
					/* the runs after it would fail the same way */
					fprintf(stderr, "kvmqual db add: %s not stored: %s\n",
						args[i], err);
					rc = KQ_EXIT_OUTPUT;
					break;
				}
				fprintf(stderr, "kvmqual db add: refused: %s\n", err);
				rc = 1;
				continue;
			}
			printf("%s: %s (run %lld in %s)\n", args[i],
			       what == KQ_DB_ADDED ? "stored" : "already stored, left as it is", pk,
			       db->url);
		}
	}
	kq_db_close(db);
	return rc;
}

int kq_db_store_finished(const char *url, const char *run_dir)
{
	struct kq_db *db;
	char err[1024];
	enum kq_db_add what;
	long long pk = 0;
	if (kq_db_open(url, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual run: --db: %s\n", err);
		return -1;
	}
	int rc = kq_db_add_run(db, run_dir, &what, &pk, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "kvmqual run: --db: run not stored: %s\n", err);
	else
		fprintf(stderr, "kvmqual: run %s as run %lld in %s\n",
			what == KQ_DB_ADDED ? "stored" : "already stored", pk, db->url);
	kq_db_close(db);
	return rc;
}
