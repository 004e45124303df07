#include "reports/runset.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/strset.h"
#include "reports/results_load.h"

int kq_runset_add_json(struct kq_runset *rs, json_t *root, const char *path, char *err,
		       size_t errlen)
{
	if (rs->n >= KQ_MAX_RUNS) {
		snprintf(err, errlen, "%s: at most %d result sets can be read at once", path,
			 KQ_MAX_RUNS);
		json_decref(root);
		return -1;
	}
	struct kq_run *r = &rs->runs[rs->n];
	memset(r, 0, sizeof(*r));
	r->path = strdup(path);
	if (!r->path) {
		snprintf(err, errlen, "%s: out of memory", path);
		json_decref(root);
		return -1;
	}
	r->label[0] = (char)('A' + rs->n);
	r->root = root;
	json_t *host = json_object_get(root, "host");
	r->env = kq_jstr(root, "environment", "unknown");
	r->hostname = kq_jstr(host, "hostname", "unknown host");
	r->cpu_brand = kq_jpath_str(host, "cpu.brand", "");
	r->kernel = kq_jpath_str(host, "kernel.release", "");
	r->run_id = kq_jpath_str(root, "run.id", "");
	rs->n++;
	return 0;
}

int kq_runset_add(struct kq_runset *rs, const char *path_or_dir, char *err, size_t errlen)
{
	json_t *root;
	if (kq_results_load(path_or_dir, &root, err, errlen) != 0)
		return -1;
	char *path = kq_results_path(path_or_dir);
	int rc = kq_runset_add_json(rs, root, path ? path : path_or_dir, err, errlen);
	free(path);
	return rc;
}

void kq_runset_free(struct kq_runset *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		json_decref(rs->runs[i].root);
		free(rs->runs[i].path);
	}
	rs->n = 0;
}

bool kq_runset_any_emulated(const struct kq_runset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->runs[i].env, "emulated") == 0)
			return true;
	return false;
}

void kq_run_describe(const struct kq_run *r, struct kq_buf *b)
{
	kq_buf_puts(b, r->hostname);
	if (r->cpu_brand[0])
		kq_buf_printf(b, " (%s)", r->cpu_brand);
	if (r->kernel[0])
		kq_buf_printf(b, ", kernel %s", r->kernel);
	kq_buf_printf(b, ", %s", r->env);
}

void kq_runset_describe(const struct kq_runset *rs, struct kq_buf *b)
{
	bool same = true;
	for (size_t i = 1; i < rs->n; i++) {
		const struct kq_run *a = &rs->runs[0], *r = &rs->runs[i];
		if (strcmp(a->hostname, r->hostname) || strcmp(a->env, r->env) ||
		    strcmp(a->kernel, r->kernel) || strcmp(a->cpu_brand, r->cpu_brand))
			same = false;
	}
	if (rs->n == 0)
		return;
	if (same) {
		kq_buf_puts(b, "host ");
		kq_run_describe(&rs->runs[0], b);
		return;
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct kq_run *r = &rs->runs[i];
		kq_buf_printf(b, "%s%s: %s (%s)", i ? "; " : "", r->label, r->hostname, r->env);
	}
}

double kq_time_unit_ns(const char *unit)
{
	static const struct {
		const char *u;
		double ns;
	} t[] = {{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(unit, t[i].u) == 0)
			return t[i].ns;
	return 0;
}

bool kq_unit_is_latency(const char *unit)
{
	return kq_time_unit_ns(unit) > 0 || strcmp(unit, "cycles") == 0;
}

/* ---- pools --------------------------------------------------------------- */

static int reindex(struct kq_pools *p, size_t nslots)
{
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	free(p->slots);
	p->slots = slots;
	p->nslots = nslots;
	for (size_t i = 0; i < p->n; i++) {
		size_t h = kq_hash_str(p->v[i].key) & (nslots - 1);
		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = i + 1;
	}
	return 0;
}

struct kq_pool *kq_pools_find(const struct kq_pools *p, const char *key)
{
	if (!p->nslots)
		return NULL;
	size_t h = kq_hash_str(key) & (p->nslots - 1);
	while (p->slots[h]) {
		struct kq_pool *pl = &p->v[p->slots[h] - 1];
		if (strcmp(pl->key, key) == 0)
			return pl;
		h = (h + 1) & (p->nslots - 1);
	}
	return NULL;
}

int kq_samples_append(double **samples, size_t *n, size_t *cap, const json_t *metric)
{
	json_t *a = json_object_get(metric, "samples");
	size_t cnt = json_array_size(a), i;
	json_t *v;

	if (!cnt)
		return 0;
	if (*n + cnt > *cap) {
		/* the first member exactly (most pools have one), then doubling */
		size_t c = *cap ? *cap : cnt;
		while (c < *n + cnt)
			c *= 2;
		double *d = realloc(*samples, c * sizeof(*d));
		if (!d)
			return -1;
		*samples = d;
		*cap = c;
	}
	json_array_foreach(a, i, v)
	{
		if (json_is_number(v))
			(*samples)[(*n)++] = json_number_value(v);
	}
	return 0;
}

struct kq_pool *kq_pools_add(struct kq_pools *p, const char *key, size_t run, json_t *test,
			     json_t *metric)
{
	if (p->failed)
		return NULL;
	struct kq_pool *pl = kq_pools_find(p, key);
	if (!pl) {
		if (p->n == p->cap) {
			size_t cap = p->cap ? p->cap * 2 : 64;
			struct kq_pool *v = realloc(p->v, cap * sizeof(*v));
			if (!v)
				goto oom;
			p->v = v;
			p->cap = cap;
		}
		pl = &p->v[p->n];
		memset(pl, 0, sizeof(*pl));
		pl->key = strdup(key);
		if (!pl->key)
			goto oom;
		pl->run = run;
		pl->test = test;
		pl->metric = metric;
		p->n++;
		if (p->n * 2 > p->nslots) {
			if (reindex(p, p->nslots ? p->nslots * 2 : 128) != 0)
				goto oom;
		} else {
			size_t h = kq_hash_str(key) & (p->nslots - 1);
			while (p->slots[h])
				h = (h + 1) & (p->nslots - 1);
			p->slots[h] = p->n;
		}
	}
	pl->members++;
	if (kq_samples_append(&pl->samples, &pl->n, &pl->cap, metric) != 0)
		goto oom;
	if (kq_metric_has_value(metric)) {
		pl->has_value = true;
		pl->value_sum += json_number_value(json_object_get(metric, "value"));
	}
	return pl;
oom:
	p->failed = true;
	return NULL;
}

int kq_pools_finish(struct kq_pools *p)
{
	if (p->failed)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		struct kq_pool *pl = &p->v[i];
		if (pl->n) {
			if (kq_stats_compute(pl->samples, pl->n, &pl->stats) != 0)
				return -1;
			pl->has_stats = true;
		} else if (kq_metric_has_stats(pl->metric)) {
			json_t *s = json_object_get(pl->metric, "stats");
			pl->stats.n = (size_t)kq_jnum(s, "n", 0);
			pl->stats.min = kq_jnum(s, "min", NAN);
			pl->stats.max = kq_jnum(s, "max", NAN);
			pl->stats.median = kq_jnum(s, "median", NAN);
			pl->stats.mean = kq_jnum(s, "mean", NAN);
			pl->stats.p99 = kq_jnum(s, "p99", NAN);
			pl->stats.stddev = kq_jnum(s, "stddev", NAN);
			pl->has_stats = true;
		}
		if (pl->has_value)
			pl->value = pl->value_sum / (double)pl->members;
	}
	return 0;
}

void kq_pools_free(struct kq_pools *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].key);
		free(p->v[i].samples);
	}
	free(p->v);
	free(p->slots);
	memset(p, 0, sizeof(*p));
}

double kq_pool_center(const struct kq_pool *pl)
{
	if (pl->has_stats)
		return pl->stats.median;
	if (pl->has_value)
		return pl->value;
	return NAN;
}
