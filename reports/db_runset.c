/* Database selections where commands take run folders: "db:SELECTION" pools
 * every selected run into one member of a run set, so `kvmqual compare
 * db:kernel=A db:kernel=B` compares all runs on kernel A with all on kernel
 * B using compare's own statistics (repeats of a metric pool their samples). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db.h"
#include "reports/db_runset.h"
#include "reports/results_load.h"

static int add_selection(struct kq_runset *rs, const char *arg, char *err, size_t errlen)
{
	struct kq_db *db = NULL;
	struct kq_db_sel sel;
	long long *pks = NULL;
	size_t n = 0;
	json_t *merged = NULL;
	int rc = -1;

	if (kq_db_sel_parse(arg + 3, &sel, err, errlen) != 0)
		return -1;
	if (kq_db_open(NULL, &db, err, errlen) != 0 ||
	    kq_db_select_runs(db, &sel, &pks, &n, err, errlen) != 0)
		goto out;
	if (n == 0) {
		snprintf(err, errlen, "%s: no stored run matches in %s", arg, db->url);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *doc;
		if (kq_db_run_document(db, pks[i], &doc, err, errlen) != 0)
			goto out;
		if (!merged) {
			merged = doc;
			continue;
		}
		json_array_extend(json_object_get(merged, "tests"), json_object_get(doc, "tests"));
		json_decref(doc);
	}
	char id[256];
	snprintf(id, sizeof(id), "%s (%zu run%s)", arg, n, n == 1 ? "" : "s");
	json_object_set_new(json_object_get(merged, "run"), "id", json_string(id));
	json_object_del(merged, "summary");
	rc = kq_runset_add_json(rs, merged, arg, err, errlen);
	merged = NULL;
out:
	json_decref(merged);
	free(pks);
	kq_db_sel_free(&sel);
	kq_db_close(db);
	return rc;
}

int kq_runset_add_any(struct kq_runset *rs, const char *arg, char *err, size_t errlen)
{
	if (strncmp(arg, "db:", 3) == 0)
		return add_selection(rs, arg, err, errlen);
	return kq_runset_add(rs, arg, err, errlen);
}
