#include "reports/compare.h"

#include <fnmatch.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/html.h"
#include "reports/results_load.h"

#define SEP "\x1f"

void kq_cmp_opts_default(struct kq_cmp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threshold_pct = KQ_CMP_DEFAULT_THRESHOLD;
	o->min_effect_pct = KQ_CMP_DEFAULT_MIN_EFFECT;
	o->fdr = KQ_CMP_DEFAULT_FDR;
	o->resamples = KQ_CMP_DEFAULT_RESAMPLES;
	o->seed = KQ_CMP_DEFAULT_SEED;
}

enum kq_better kq_metric_direction(const json_t *metric)
{
	char buf[32];
	const char *over = kq_label(metric, "better", buf, sizeof(buf));
	if (over && strcmp(over, "lower") == 0)
		return KQ_LOWER_BETTER;
	if (over && strcmp(over, "higher") == 0)
		return KQ_HIGHER_BETTER;
	const char *unit = kq_jstr(metric, "unit", "");
	size_t n = strlen(unit);
	if (kq_unit_is_latency(unit) || strcmp(unit, "ratio") == 0)
		return KQ_LOWER_BETTER;
	if (n > 2 && strcmp(unit + n - 2, "/s") == 0)
		return KQ_HIGHER_BETTER;
	return KQ_NO_DIRECTION;
}

const char *kq_verdict_name(enum kq_verdict v)
{
	static const char *n[] = {"same", "better", "worse", "changed", "missing", "added"};
	return n[v];
}

bool kq_cmp_glob_match(const char *glob, const char *test, const char *metric)
{
	if (fnmatch(glob, metric, 0) == 0)
		return true;
	char *full = NULL;
	if (asprintf(&full, "%s/%s", test, metric) < 0)
		return false;
	bool m = fnmatch(glob, full, 0) == 0;
	free(full);
	return m;
}

bool kq_cmp_glob_valid(const char *glob)
{
	for (const char *p = glob; *p; p++) {
		if (*p == '\\') {
			if (!*++p)
				return false; /* a trailing backslash escapes nothing */
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++; /* a leading ']' is a member */
			while (*q && *q != ']')
				q++;
			if (!*q)
				return false;
			p = q;
		}
	}
	return true;
}

enum kq_verdict kq_cmp_decide(enum kq_better dir, double delta_pct, bool significant,
			      double threshold_pct)
{
	if (!significant || isnan(delta_pct))
		return KQ_V_SAME;
	switch (dir) {
	case KQ_LOWER_BETTER:
		return delta_pct > threshold_pct    ? KQ_V_WORSE
		       : delta_pct < -threshold_pct ? KQ_V_BETTER
						    : KQ_V_SAME;
	case KQ_HIGHER_BETTER:
		return delta_pct < -threshold_pct  ? KQ_V_WORSE
		       : delta_pct > threshold_pct ? KQ_V_BETTER
						   : KQ_V_SAME;
	case KQ_NO_DIRECTION:
		return fabs(delta_pct) > threshold_pct ? KQ_V_CHANGED : KQ_V_SAME;
	}
	return KQ_V_SAME;
}

/* One run's host as field -> text, the field names appended to ORDER (a
 * list without repeats, SEEN its set): environment and version first. */
/* One run's host as field -> text, the field names appended to ORDER (a
 * list without repeats, SEEN its set). Volatile fields are left out. */
static void host_fields(const struct kq_run *r, json_t *map, json_t *order, json_t *seen)
{
	json_t *flat = kq_flatten(json_object_get(r->root, "host")), *row;
	size_t i;
	json_t *all = json_array();
	json_array_append_new(all, json_pack("[s,s]", "environment", r->env));
	json_array_append_new(
	    all, json_pack("[s,s]", "kvmqual version", kq_jpath_str(r->root, "tool.version", "?")));
	json_array_extend(all, flat);
	json_array_foreach(all, i, row)
	{
		const char *name = json_string_value(json_array_get(row, 0));
		if (kq_host_field_volatile(name) || (strcmp(name, "environment") == 0 && i > 0))
			continue; /* the run's environment field says it already */
		json_object_set(map, name, json_array_get(row, 1));
		if (!json_object_get(seen, name)) {
			json_object_set_new(seen, name, json_true());
			json_array_append_new(order, json_string(name));
		}
	}
	json_decref(all);
	json_decref(flat);
}

/* The key fields first, then the others in the order the runs have them. */
static json_t *key_fields_first(json_t *order)
{
	json_t *out = json_array(), *done = json_object(), *v;
	size_t i;
	for (const char *const *f = kq_host_key_fields; *f; f++)
		json_array_foreach(order, i, v)
		{
			if (strcmp(json_string_value(v), *f) == 0) {
				json_array_append(out, v);
				json_object_set_new(done, *f, json_true());
			}
		}
	json_array_foreach(order, i, v)
	{
		if (!json_object_get(done, json_string_value(v)))
			json_array_append(out, v);
	}
	json_decref(done);
	return out;
}

/* Rows [name, value in run 0, value in run 1, ...] for every name (in order)
 * whose string value is not the same in all runs; a name a run lacks differs. */
static json_t *differing_rows(json_t *const maps[], size_t nruns, const json_t *order)
{
	json_t *out = json_array(), *name;
	size_t i;
	json_array_foreach((json_t *)order, i, name)
	{
		const char *n = json_string_value(name);
		json_t *a = json_object_get(maps[0], n);
		bool differs = false;
		for (size_t r = 1; r < nruns; r++) {
			json_t *v = json_object_get(maps[r], n);
			if (!a || !v || strcmp(json_string_value(a), json_string_value(v)) != 0)
				differs = true;
		}
		if (!differs)
			continue;
		json_t *row = json_array();
		json_array_append(row, name);
		for (size_t r = 0; r < nruns; r++) {
			json_t *v = json_object_get(maps[r], n);
			json_array_append_new(row, v ? json_incref(v) : json_null());
		}
		json_array_append_new(out, row);
	}
	return out;
}

static json_t *host_diff(const struct kq_runset *rs)
{
	json_t *maps[KQ_MAX_RUNS], *order = json_array(), *seen = json_object();
	for (size_t r = 0; r < rs->n; r++) {
		maps[r] = json_object();
		host_fields(&rs->runs[r], maps[r], order, seen);
	}
	json_t *sorted = key_fields_first(order);
	json_t *out = differing_rows(maps, rs->n, sorted);
	for (size_t r = 0; r < rs->n; r++)
		json_decref(maps[r]);
	json_decref(sorted);
	json_decref(order);
	json_decref(seen);
	return out;
}

/* Rows [test, status in run 0, status in run 1, ...] for every test (in
 * order of first appearance) whose status is not the same in all runs; a
 * run lacking the test differs (null). */
static json_t *status_diff(const struct kq_cmp *c)
{
	size_t nruns = c->rs->n;
	json_t *out = json_array();
	struct kq_strset seen = {0};
	for (size_t r = 0; r < nruns && out; r++)
		for (size_t i = 0; i < c->runs[r]->tests.n; i++) {
			const char *n = c->runs[r]->tests.v[i].name, *st[KQ_MAX_RUNS];
			bool added, differs = false;
			if (!kq_strset_add(&seen, n, 0, &added)) {
				json_decref(out);
				out = NULL;
				break;
			}
			if (!added)
				continue;
			for (size_t q = 0; q < nruns; q++) {
				const struct kq_cmp_tests *tq = &c->runs[q]->tests;
				struct kq_strset_ent *e = kq_strset_get(&tq->names, n);
				st[q] = e ? tq->v[e->v].status : NULL;
				if (q && (!st[0] || !st[q] || strcmp(st[0], st[q]) != 0))
					differs = true;
			}
			if (!differs)
				continue;
			json_t *row = json_pack("[s]", n);
			for (size_t q = 0; q < nruns; q++)
				json_array_append_new(row,
						      st[q] ? json_string(st[q]) : json_null());
			json_array_append_new(out, row);
		}
	kq_strset_free(&seen);
	return out;
}

/* One candidate against the baseline for one row: thread-safe, touches only
 * the row. */
static int compare_row(const struct kq_cmp *c, struct kq_cmp_row *row, size_t cand)
{
	struct kq_cmp_side *a = &row->side[0], *b = &row->side[cand];
	struct kq_cmp_delta *d = &row->d[cand];

	if (!a->present && !b->present)
		return 0;
	if (!a->present || !b->present) {
		d->verdict = a->present ? KQ_V_MISSING : KQ_V_ADDED;
		d->diff = d->delta_pct = NAN;
		return 0;
	}
	d->diff = b->center - a->center;
	if (a->center != 0)
		d->delta_pct = d->diff / fabs(a->center) * 100.0;
	else
		d->delta_pct = d->diff == 0 ? 0 : copysign(INFINITY, d->diff);
	d->p_adj = NAN;
	if (a->n >= 1 && b->n >= 1) {
		if (kq_mann_whitney(a->samples, a->n, b->samples, b->n, &d->mw) != 0)
			return -1;
		d->has_test = true;
	}
	/* Unreplicated values gate only when asked for by name (--metric). */
	d->gated = row->gated && (d->has_test || c->opts.nglobs > 0);
	return 0;
}

int kq_compare_ci(const struct kq_cmp *c, const struct kq_cmp_row *row, size_t cand,
		  struct kq_cmp_delta *d)
{
	const struct kq_cmp_side *a = &row->side[0], *b = &row->side[cand];
	if (!a->present || !b->present || !a->n || !b->n)
		return 0;
	if (kq_bootstrap_median_diff(a->samples, a->n, b->samples, b->n, c->opts.resamples,
				     KQ_CMP_CI_LEVEL, c->opts.seed, &d->ci_lo, &d->ci_hi) != 0)
		return -1;
	d->has_ci = true;
	return 0;
}

/* Adjusts the p of every tested metric of candidate CAND for their number,
 * then decides: significant when the adjusted p is below the rate. */
static int decide_all(struct kq_cmp *c, size_t cand)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < c->nrows; i++)
		n += c->rows[i].d[cand].has_test;
	double *p = malloc((n ? n : 1) * sizeof(*p)), *q = malloc((n ? n : 1) * sizeof(*q));
	int rc = -1;
	if (!p || !q)
		goto out;
	for (size_t i = 0; i < c->nrows; i++)
		if (c->rows[i].d[cand].has_test)
			p[k++] = c->rows[i].d[cand].mw.p;
	if (kq_bh_adjust(p, n, q) != 0)
		goto out;
	k = 0;
	double floor_pct = fmax(c->opts.threshold_pct, c->opts.min_effect_pct);
	for (size_t i = 0; i < c->nrows; i++) {
		struct kq_cmp_row *row = &c->rows[i];
		struct kq_cmp_delta *d = &row->d[cand];
		if (!row->side[0].present || !row->side[cand].present)
			continue;
		bool significant = true;
		if (d->has_test) {
			d->p_adj = q[k++];
			significant = d->p_adj < c->opts.fdr;
		}
		d->verdict = kq_cmp_decide(row->dir, d->delta_pct, significant, floor_pct);
	}
	rc = 0;
out:
	free(p);
	free(q);
	return rc;
}

static void count_row(struct kq_cmp *c, const struct kq_cmp_row *row, size_t cand)
{
	const struct kq_cmp_delta *d = &row->d[cand];
	struct kq_cmp_counts *cnt = &c->counts[cand];
	if (!row->side[0].present && !row->side[cand].present)
		return;
	if (row->side[0].present && row->side[cand].present) {
		cnt->compared++;
		cnt->tested += d->has_test;
	}
	switch (d->verdict) {
	case KQ_V_SAME:
		cnt->same++;
		break;
	case KQ_V_BETTER:
		cnt->better++;
		break;
	case KQ_V_WORSE:
		cnt->worse++;
		if (d->gated)
			cnt->worse_gated++;
		break;
	case KQ_V_CHANGED:
		cnt->changed++;
		break;
	case KQ_V_MISSING:
		cnt->missing++;
		break;
	case KQ_V_ADDED:
		cnt->added++;
		break;
	}
}

/* The tests (or the bootstraps) of every row, spread over threads: each
 * metric restarts the generator from the seed, so the result does not depend
 * on the order or the number of threads. */
struct worker {
	struct kq_cmp *c;
	bool cis;     /* bootstrap intervals, not the tests */
	size_t *next; /* shared row counter */
	pthread_mutex_t *lock;
	int rc;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		pthread_mutex_lock(w->lock);
		size_t i = (*w->next)++;
		pthread_mutex_unlock(w->lock);
		if (i >= w->c->nrows)
			break;
		struct kq_cmp_row *row = &w->c->rows[i];
		for (size_t r = 1; r < w->c->rs->n; r++)
			if ((w->cis ? kq_compare_ci(w->c, row, r, &row->d[r])
				    : compare_row(w->c, row, r)) != 0)
				w->rc = -1;
	}
	return NULL;
}

static int over_threads(struct kq_cmp *c, bool cis)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cpus < 1 ? 1 : cpus > 8 ? 8 : (size_t)cpus;
	if (nthreads > c->nrows / 16 + 1)
		nthreads = c->nrows / 16 + 1;
	pthread_t tids[8];
	struct worker w[8];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	size_t next = 0, started = 0;
	int rc = 0;
	for (size_t t = 1; t < nthreads; t++) {
		w[started + 1] = (struct worker){.c = c, .cis = cis, .next = &next, .lock = &lock};
		if (pthread_create(&tids[started + 1], NULL, work, &w[started + 1]) == 0)
			started++;
	}
	w[0] = (struct worker){.c = c, .cis = cis, .next = &next, .lock = &lock};
	work(&w[0]); /* this thread works too (and alone if none started) */
	for (size_t t = 1; t <= started; t++)
		pthread_join(tids[t], NULL);
	for (size_t t = 0; t <= started; t++)
		rc |= w[t].rc;
	return rc;
}

int kq_compare_all_cis(struct kq_cmp *c)
{
	return over_threads(c, true);
}

static int compare_rows(struct kq_cmp *c)
{
	if (over_threads(c, false) != 0)
		return -1;
	for (size_t r = 1; r < c->rs->n; r++)
		if (decide_all(c, r) != 0)
			return -1;
	for (size_t i = 0; i < c->nrows; i++)
		for (size_t r = 1; r < c->rs->n; r++)
			count_row(c, &c->rows[i], r);
	return 0;
}

static uint64_t key_hash(const struct kq_cmp_key *k)
{
	const char *p[] = {k->test, k->metric, k->unit, k->labels};
	uint64_t h = 0;
	for (size_t i = 0; i < 4; i++)
		h = (h ^ kq_hash_str(p[i])) * 1099511628211ULL;
	return h;
}

static bool key_eq(const struct kq_cmp_key *a, const struct kq_cmp_key *b)
{
	return !strcmp(a->test, b->test) && !strcmp(a->metric, b->metric) &&
	       !strcmp(a->unit, b->unit) && !strcmp(a->labels, b->labels);
}

/* The runs' rows lined up: the comparison's rows in order of first
 * appearance over the runs in order, and each run's global[] into them. */
static int merge_rows(struct kq_cmp *c)
{
	size_t total = 0, nslots = 1024, n = 0;
	for (size_t r = 0; r < c->rs->n; r++)
		total += c->runs[r]->nrows;
	while (nslots < 2 * total)
		nslots *= 2;
	size_t *slots = calloc(nslots, sizeof(*slots));
	struct kq_cmp_key *keys = malloc((total ? total : 1) * sizeof(*keys));
	c->rows = malloc((total ? total : 1) * sizeof(*c->rows));
	int rc = -1;
	if (!slots || !keys || !c->rows)
		goto out;
	for (size_t r = 0; r < c->rs->n; r++) {
		struct kq_cmp_run *run = c->runs[r];
		if (!(run->global = malloc((run->nrows ? run->nrows : 1) * sizeof(size_t))))
			goto out;
		for (size_t j = 0; j < run->nrows; j++) {
			size_t h = key_hash(&run->keys[j]) & (nslots - 1);
			while (slots[h] && !key_eq(&keys[slots[h] - 1], &run->keys[j]))
				h = (h + 1) & (nslots - 1);
			if (!slots[h]) {
				keys[n] = run->keys[j];
				c->rows[n] = run->rows[j];
				slots[h] = ++n;
			}
			run->global[j] = slots[h] - 1;
		}
	}
	c->nrows = n;
	struct kq_cmp_row *rows = realloc(c->rows, (n ? n : 1) * sizeof(*rows));
	if (rows)
		c->rows = rows;
	rc = 0;
out:
	free(slots);
	free(keys);
	return rc;
}

static int fill_rows(struct kq_cmp *c, char *err, size_t errlen)
{
	const struct kq_runset *rs = c->rs;
	if (merge_rows(c) != 0)
		goto oom;
	size_t n = c->nrows;
	c->sides = calloc((n ? n : 1) * rs->n, sizeof(*c->sides));
	c->deltas = calloc((n ? n : 1) * rs->n, sizeof(*c->deltas));
	if (!c->sides || !c->deltas)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		c->rows[i].side = c->sides + i * rs->n;
		c->rows[i].d = c->deltas + i * rs->n;
	}
	for (size_t r = 0; r < rs->n; r++) {
		const struct kq_cmp_run *run = c->runs[r];
		for (size_t j = 0; j < run->nrows; j++) {
			const struct kq_cmp_pool *pl = &run->pools[j];
			struct kq_cmp_side *side = &c->rows[run->global[j]].side[r];
			double center;
			if (kq_cmp_pool_center(pl, &center) != 0)
				goto oom;
			side->present = !isnan(center);
			side->center = center;
			side->n = pl->n;
			side->samples = pl->samples;
		}
	}
	c->glob_hits = calloc(c->opts.nglobs + 1, sizeof(*c->glob_hits));
	c->glob_gates = calloc(c->opts.nglobs + 1, sizeof(*c->glob_gates));
	if (!c->glob_hits || !c->glob_gates)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		struct kq_cmp_row *row = &c->rows[i];
		row->gated = row->dir != KQ_NO_DIRECTION;
		if (c->opts.nglobs) {
			bool picked = false;
			for (size_t g = 0; g < c->opts.nglobs; g++)
				if (kq_cmp_glob_match(c->opts.globs[g], row->test, row->metric)) {
					picked = true;
					c->glob_hits[g]++;
					c->glob_gates[g] += row->gated;
				}
			row->gated = row->gated && picked;
		}
	}
	if (compare_rows(c) != 0)
		goto oom;
	return 0;
oom:
	snprintf(err, errlen, "compare: out of memory");
	return -1;
}

/* The names of A's tests each candidate lacks (a skipped or failed test is
 * there: its status change is listed on its own). */
static int missing_tests(struct kq_cmp *c)
{
	const struct kq_cmp_tests *base = &c->runs[0]->tests;
	for (size_t r = 1; r < c->rs->n; r++) {
		if (!(c->missing_tests[r] = json_array()))
			return -1;
		for (size_t i = 0; i < base->n; i++)
			if (!kq_strset_get(&c->runs[r]->tests.names, base->v[i].name) &&
			    json_array_append_new(c->missing_tests[r],
						  json_string(base->v[i].name)) != 0)
				return -1;
	}
	return 0;
}

int kq_compare_finish(struct kq_cmp *c, char *err, size_t errlen)
{
	for (size_t r = 0; r < c->rs->n; r++) {
		struct kq_cmp_run *run = c->runs[r];
		/* the run's row index is needed only while reading */
		free(run->slots);
		run->slots = NULL;
		run->nslots = 0;
	}
	if (fill_rows(c, err, errlen) != 0)
		return -1;
	c->host_diff = host_diff(c->rs);
	c->status_diff = status_diff(c);
	if (!c->host_diff || !c->status_diff || missing_tests(c) != 0) {
		snprintf(err, errlen, "compare: out of memory");
		return -1;
	}
	return 0;
}

int kq_compare_build(const struct kq_runset *rs, const struct kq_cmp_opts *o, struct kq_cmp *out,
		     char *err, size_t errlen)
{
	kq_compare_begin(out, rs, o);
	for (size_t r = 0; r < rs->n; r++)
		if (kq_compare_add_doc(out, r, err, errlen) != 0) {
			kq_compare_free(out);
			return -1;
		}
	if (kq_compare_finish(out, err, errlen) != 0) {
		kq_compare_free(out);
		return -1;
	}
	return 0;
}

void kq_compare_free(struct kq_cmp *c)
{
	free(c->rows);
	free(c->sides);
	free(c->deltas);
	json_decref(c->host_diff);
	json_decref(c->status_diff);
	for (size_t r = 0; r < KQ_MAX_RUNS; r++) {
		json_decref(c->missing_tests[r]);
		kq_cmp_run_free(c->runs[r]);
		c->missing_tests[r] = NULL;
		c->runs[r] = NULL;
	}
	free(c->glob_hits);
	free(c->glob_gates);
	c->glob_hits = c->glob_gates = NULL;
	c->rows = NULL;
	c->sides = NULL;
	c->deltas = NULL;
	c->nrows = 0;
	c->host_diff = c->status_diff = NULL;
}

size_t kq_compare_regressions(const struct kq_cmp *c)
{
	size_t n = 0;
	for (size_t r = 1; r < (c->rs ? c->rs->n : 0); r++)
		n += c->counts[r].worse_gated;
	return n;
}

size_t kq_compare_missing_failures(const struct kq_cmp *c)
{
	size_t n = 0;
	if (c->opts.allow_missing)
		return 0;
	for (size_t r = 1; r < (c->rs ? c->rs->n : 0); r++)
		n += json_array_size(c->missing_tests[r]);
	return n;
}

const char *kq_compare_empty(const struct kq_cmp *c, char *err, size_t errlen)
{
	/* A candidate sharing nothing while another does fails by its missing
	 * tests; when none shares anything, nothing was judged at all. */
	size_t compared = 0;
	for (size_t r = 1; r < c->rs->n; r++)
		compared += c->counts[r].compared;
	for (size_t r = 1; r < c->rs->n && !compared; r++)
		if (!c->counts[r].compared) {
			snprintf(err, errlen,
				 "nothing to compare: %s (%s) and %s (%s) share no metric "
				 "(%zu metrics in A; %zu tests in %s)",
				 c->rs->runs[0].label, c->rs->runs[0].path, c->rs->runs[r].label,
				 c->rs->runs[r].path, c->counts[r].missing, c->runs[r]->tests.n,
				 c->rs->runs[r].label);
			return err;
		}
	for (size_t g = 0; g < c->opts.nglobs; g++)
		if (!c->glob_gates[g]) {
			if (c->glob_hits[g])
				snprintf(err, errlen,
					 "--metric '%s' matches %zu metric%s, none with a "
					 "direction (a time, cycles, ratio or rate): it gates "
					 "nothing",
					 c->opts.globs[g], c->glob_hits[g],
					 c->glob_hits[g] == 1 ? "" : "s");
			else
				snprintf(err, errlen,
					 "--metric '%s' matches no metric (tried on METRIC "
					 "and TEST/METRIC over %zu metrics)",
					 c->opts.globs[g], c->nrows);
			return err;
		}
	return NULL;
}
