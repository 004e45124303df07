/* Storing one run: the host's comparison facts (found or added by
 * fingerprint), the run, its tests, metrics, labels and samples, all in one
 * transaction, so a failure leaves nothing half-stored. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/db.h"
#include "reports/db_time.h"
#include "reports/results_load.h"
#include "reports/runset.h"
#include "core/strbuf.h"

static void set_str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? json_string(v) : json_null());
}

/* {"module": {"param": "value"}} for every loaded KVM module with parameters
 * (the probe's kvm.modules), or the older kvm.params of one module. */
static json_t *kvm_params(const json_t *host)
{
	json_t *kvm = json_object_get(host, "kvm"), *out = json_object(), *m;
	const char *name;
	json_object_foreach(json_object_get(kvm, "modules"), name, m)
	{
		json_t *p = json_object_get(m, "parameters");
		if (json_is_object(p) && json_object_size(p))
			json_object_set(out, name, p);
	}
	json_t *old = json_object_get(kvm, "params");
	if (!json_object_size(out) && json_is_object(old))
		json_object_set(out, kq_jstr(kvm, "module", "kvm"), old);
	return out;
}

/* {"spectre_v2": "Mitigation: ...", ...} from the probe's vulnerabilities. */
static json_t *mitigations(const json_t *host)
{
	json_t *out = json_object(), *v;
	const char *name;
	json_object_foreach(json_object_get(host, "vulnerabilities"), name, v)
	{
		const char *text =
		    json_is_string(v) ? json_string_value(v) : kq_jstr(v, "value", NULL);
		if (text)
			json_object_set_new(out, name, json_string(text));
	}
	return out;
}

static char *compact(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* identity, not security: FNV-1a is enough to tell configurations and runs apart */
static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

int kq_host_facts(const json_t *root, struct kq_host_facts *out)
{
	const json_t *host = json_object_get(root, "host");
	json_t *f = json_object();
	memset(out, 0, sizeof(*out));
	if (!f)
		return -1;
	set_str(f, "hostname", kq_jstr(host, "hostname", "unknown"));
	set_str(f, "cpu_vendor", kq_jpath_str(host, "cpu.vendor", NULL));
	set_str(f, "cpu_brand", kq_jpath_str(host, "cpu.brand", NULL));
	const char *mc = kq_jpath_str(host, "cpu.cpuinfo.microcode", NULL);
	set_str(f, "microcode", mc ? mc : kq_jpath_str(host, "cpu.microcode", NULL));
	set_str(f, "kernel", kq_jpath_str(host, "kernel.release", NULL));
	json_t *kp = kvm_params(host), *mi = mitigations(host);
	char *kps = compact(kp), *mis = compact(mi);
	set_str(f, "kvm_params", kps);
	set_str(f, "mitigations", mis);
	free(kps);
	free(mis);
	json_decref(kp);
	json_decref(mi);
	const char *thp = kq_jpath_str(host, "memory.thp.enabled.selected", NULL);
	set_str(f, "thp", thp ? thp : kq_jstr(host, "thp", NULL));
	set_str(f, "environment", kq_jstr(root, "environment", NULL));
	char *canon = compact(f);
	if (!canon) {
		json_decref(f);
		return -1;
	}
	uint64_t h = fnv1a(canon);
	free(canon);
	snprintf(out->fingerprint, sizeof(out->fingerprint), "%016" PRIx64, h);
	out->facts = f;
	return 0;
}

void kq_host_facts_free(struct kq_host_facts *f)
{
	json_decref(f->facts);
	f->facts = NULL;
}

/* Numbers as text parameters: shortest exact form; NULL for absent or not finite. */
struct nums {
	char v[16][32];
	size_t n;
};

static const char *num(struct nums *ns, const json_t *v)
{
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || ns->n >= 16)
		return NULL;
	char *s = ns->v[ns->n++];
	if (json_is_integer(v))
		snprintf(s, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(s, 32, "%.17g", json_number_value(v));
	return s;
}

static int insert_id(struct kq_db *db, const char *sql, size_t np, const char *const *p,
		     long long *id, char *err, size_t errlen)
{
	struct kq_db_rows rows;
	if (kq_db_exec(db, sql, np, p, &rows, err, errlen) != 0)
		return -1;
	const char *c = kq_db_cell(&rows, 0, 0);
	if (!c) {
		char name[96];
		kq_db_stmt_name(sql, name, sizeof(name));
		snprintf(err, errlen, "%s: statement \"%s\" returned no id", db->url, name);
		kq_db_rows_free(&rows);
		return -1;
	}
	*id = strtoll(c, NULL, 10);
	kq_db_rows_free(&rows);
	return 0;
}

static int host_id(struct kq_db *db, const struct kq_host_facts *hf, const char *now, long long *id,
		   char *err, size_t errlen)
{
	struct kq_db_rows rows;
	const char *fp[] = {hf->fingerprint};
	if (kq_db_exec(db, "SELECT id FROM hosts WHERE fingerprint = $1", 1, fp, &rows, err,
		       errlen) != 0)
		return -1;
	const char *c = kq_db_cell(&rows, 0, 0);
	if (c) {
		*id = strtoll(c, NULL, 10);
		kq_db_rows_free(&rows);
		return 0;
	}
	kq_db_rows_free(&rows);
	const json_t *f = hf->facts;
	const char *p[] = {hf->fingerprint,
			   kq_jstr(f, "hostname", "unknown"),
			   kq_jstr(f, "cpu_vendor", NULL),
			   kq_jstr(f, "cpu_brand", NULL),
			   kq_jstr(f, "microcode", NULL),
			   kq_jstr(f, "kernel", NULL),
			   kq_jstr(f, "kvm_params", NULL),
			   kq_jstr(f, "mitigations", NULL),
			   kq_jstr(f, "thp", NULL),
			   kq_jstr(f, "environment", NULL),
			   now};
	return insert_id(db,
			 "INSERT INTO hosts (fingerprint, hostname, cpu_vendor, cpu_brand, "
			 "microcode, kernel, kvm_params, mitigations, thp, environment, "
			 "first_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
			 "RETURNING id",
			 11, p, id, err, errlen);
}

/* The metric's identity labels: labels without how it was measured, plus a
 * top-level handled_in; as "k=v,k=v" and as the object to store. */
static json_t *identity_labels(const json_t *metric)
{
	json_t *l = json_object(), *v;
	const char *k;
	json_object_foreach(json_object_get(metric, "labels"), k, v)
	{
		if (!kq_is_measurement_label(k))
			json_object_set(l, k, v);
	}
	const char *h = kq_metric_handled_in(metric);
	if (*h && !json_object_get(l, "handled_in"))
		json_object_set_new(l, "handled_in", json_string(h));
	return l;
}

static int store_metric(struct kq_db *db, long long test_pk, size_t ordinal, const json_t *m,
			char *err, size_t errlen)
{
	char tp[32], ord[32], mp[32];
	struct nums ns = {.n = 0};
	json_t *ids = identity_labels(m), *wrap = json_pack("{s:O}", "labels", ids);
	struct kq_buf key = KQ_BUF_INIT;
	long long metric_pk;
	int rc = -1;

	kq_labels_fmt(&key, wrap, NULL, ",");
	snprintf(tp, sizeof(tp), "%lld", test_pk);
	snprintf(ord, sizeof(ord), "%zu", ordinal);
	const json_t *st = json_object_get(m, "stats");
	const char *p[] = {tp,
			   ord,
			   kq_jstr(m, "name", ""),
			   kq_jstr(m, "unit", ""),
			   kq_buf_str(&key),
			   num(&ns, json_object_get(st, "n")),
			   num(&ns, json_object_get(st, "min")),
			   num(&ns, json_object_get(st, "max")),
			   num(&ns, json_object_get(st, "median")),
			   num(&ns, json_object_get(st, "mean")),
			   num(&ns, json_object_get(st, "p99")),
			   num(&ns, json_object_get(st, "stddev")),
			   num(&ns, json_object_get(m, "value"))};
	if (key.failed) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (insert_id(db,
		      "INSERT INTO metrics (test_pk, ordinal, name, unit, labels, n, min, max, "
		      "median, mean, p99, stddev, value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
		      "$9, $10, $11, $12, $13) RETURNING id",
		      13, p, &metric_pk, err, errlen) != 0)
		goto out;
	snprintf(mp, sizeof(mp), "%lld", metric_pk);
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(m, "labels"), k, v)
	{
		char buf[64];
		const char *text = kq_label(m, k, buf, sizeof(buf));
		const char *lp[] = {mp, k, text ? text : ""};
		if (kq_db_exec(db,
			       "INSERT INTO metric_labels (metric_pk, key, value) VALUES ($1, $2, "
			       "$3)",
			       3, lp, NULL, err, errlen) != 0)
			goto out;
	}
	const char *h = kq_metric_handled_in(m);
	if (*h && !json_object_get(json_object_get(m, "labels"), "handled_in")) {
		const char *lp[] = {mp, "handled_in", h};
		if (kq_db_exec(db,
			       "INSERT INTO metric_labels (metric_pk, key, value) VALUES ($1, $2, "
			       "$3)",
			       3, lp, NULL, err, errlen) != 0)
			goto out;
	}
	json_t *s;
	size_t i;
	json_array_foreach(json_object_get(m, "samples"), i, s)
	{
		struct nums sn = {.n = 0};
		char io[32];
		snprintf(io, sizeof(io), "%zu", i);
		const char *sp[] = {mp, io, num(&sn, s)};
		if (!sp[2])
			continue; /* the loader admits only numbers; a non-finite one is not stored
				   */
		if (kq_db_exec(
			db, "INSERT INTO samples (metric_pk, ordinal, value) VALUES ($1, $2, $3)",
			3, sp, NULL, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	kq_buf_free(&key);
	json_decref(ids);
	json_decref(wrap);
	return rc;
}

static int store_test(struct kq_db *db, long long run_pk, size_t ordinal, const json_t *t,
		      char *err, size_t errlen)
{
	char rp[32], ord[32];
	struct nums ns = {.n = 0};
	char *groups = NULL, *config = NULL, *verdict = NULL;
	json_t *g = json_object_get(t, "groups"), *c = json_object_get(t, "config"),
	       *vd = json_object_get(t, "verdict");
	long long test_pk;
	int rc = -1;

	snprintf(rp, sizeof(rp), "%lld", run_pk);
	snprintf(ord, sizeof(ord), "%zu", ordinal);
	if (g)
		groups = compact(g);
	if (c)
		config = compact(c);
	if (vd)
		verdict = compact(vd);
	const char *p[] = {rp,
			   ord,
			   kq_jstr(t, "name", ""),
			   kq_jstr(t, "status", ""),
			   kq_jstr(t, "reason", NULL),
			   kq_jstr(t, "workload", NULL),
			   groups,
			   num(&ns, json_object_get(t, "duration_s")),
			   config,
			   verdict};
	if (insert_id(db,
		      "INSERT INTO tests (run_pk, ordinal, name, status, reason, workload, "
		      "test_groups, duration_s, config, verdict) VALUES ($1, $2, $3, $4, $5, $6, "
		      "$7, $8, $9, $10) RETURNING id",
		      10, p, &test_pk, err, errlen) != 0)
		goto out;
	json_t *m;
	size_t i;
	json_array_foreach(json_object_get(t, "metrics"), i, m)
	{
		if (store_metric(db, test_pk, i, m, err, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	free(groups);
	free(config);
	free(verdict);
	return rc;
}

int kq_db_add_json(struct kq_db *db, json_t *root, const char *source, enum kq_db_add *what,
		   long long *run_pk, char *err, size_t errlen)
{
	struct kq_host_facts hf;
	struct kq_db_rows rows;
	char *doc = NULL, *run_key = NULL, now[32], started_unix[32];
	struct nums ns = {.n = 0};
	long long hid, rid = 0;
	const char *run_id = kq_jpath_str(root, "run.id", "");
	const char *started = kq_jpath_str(root, "run.started", "");
	time_t t0, tnow = time(NULL);
	struct tm tm;
	int rc = -1;

	if (kq_time_parse(started, &t0) != 0) {
		snprintf(err, errlen, "%s: run.started: \"%s\" is not an ISO 8601 UTC time", source,
			 started);
		return -1;
	}
	snprintf(started_unix, sizeof(started_unix), "%lld", (long long)t0);
	gmtime_r(&tnow, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (kq_host_facts(root, &hf) != 0 || !(doc = compact(root)) ||
	    asprintf(&run_key, "%s/%s/%016" PRIx64, hf.fingerprint, run_id, fnv1a(doc)) < 0) {
		run_key = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (kq_db_begin(db, err, errlen) != 0)
		goto out;
	const char *kp[] = {run_key};
	if (kq_db_exec(db, "SELECT id FROM runs WHERE run_key = $1", 1, kp, &rows, err, errlen) !=
	    0)
		goto fail;
	if (kq_db_cell(&rows, 0, 0)) {
		*what = KQ_DB_ALREADY;
		if (run_pk)
			*run_pk = strtoll(kq_db_cell(&rows, 0, 0), NULL, 10);
		kq_db_rows_free(&rows);
		kq_db_rollback(db);
		rc = 0;
		goto out;
	}
	kq_db_rows_free(&rows);
	if (host_id(db, &hf, now, &hid, err, errlen) != 0)
		goto fail;
	char hs[32];
	snprintf(hs, sizeof(hs), "%lld", hid);
	const json_t *run = json_object_get(root, "run"), *sum = json_object_get(root, "summary");
	json_t *quick = json_object_get(run, "quick");
	const char *p[] = {hs,
			   run_key,
			   run_id,
			   started,
			   started_unix,
			   kq_jstr(run, "finished", NULL),
			   kq_jstr(root, "environment", "unknown"),
			   kq_jstr(hf.facts, "kernel", NULL),
			   json_is_boolean(quick) ? (json_is_true(quick) ? "1" : "0") : NULL,
			   num(&ns, json_object_get(run, "repeat")),
			   num(&ns, json_object_get(run, "exit_code")),
			   kq_jpath_str(root, "tool.version", NULL),
			   kq_jstr(root, "schema_version", "?"),
			   num(&ns, json_object_get(sum, "total")),
			   num(&ns, json_object_get(sum, "pass")),
			   num(&ns, json_object_get(sum, "fail")),
			   num(&ns, json_object_get(sum, "skip")),
			   source,
			   now,
			   doc};
	if (insert_id(db,
		      "INSERT INTO runs (host_id, run_key, run_id, started, started_unix, "
		      "finished, environment, kernel, quick, repeats, exit_code, tool_version, "
		      "results_schema, total, passed, failed, skipped, source, stored_at, "
		      "document) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
		      "$14, $15, $16, $17, $18, $19, $20) RETURNING id",
		      20, p, &rid, err, errlen) != 0)
		goto fail;
	json_t *t;
	size_t i;
	json_array_foreach(json_object_get(root, "tests"), i, t)
	{
		if (store_test(db, rid, i, t, err, errlen) != 0)
			goto fail;
	}
	if (kq_db_commit(db, err, errlen) != 0)
		goto out;
	*what = KQ_DB_ADDED;
	if (run_pk)
		*run_pk = rid;
	rc = 0;
	goto out;
fail:
	kq_db_rollback(db);
out:
	kq_host_facts_free(&hf);
	free(doc);
	free(run_key);
	return rc;
}

int kq_db_add_run(struct kq_db *db, const char *path_or_dir, enum kq_db_add *what,
		  long long *run_pk, char *err, size_t errlen)
{
	json_t *root = NULL;
	char *path = kq_results_path(path_or_dir);
	if (kq_results_load(path_or_dir, &root, err, errlen) != 0) {
		free(path);
		return -1;
	}
	int rc = kq_db_add_json(db, root, path ? path : path_or_dir, what, run_pk, err, errlen);
	json_decref(root);
	free(path);
	return rc;
}
