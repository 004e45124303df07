/* Reading runs into a comparison: each test's metrics folded into the run's
 * rows (a metric of a test, by name, unit and labels) and pools of doubles,
 * its name and status into the run's test list. Nothing keeps a pointer into
 * a document, so a run can be streamed (results_stream.h) and never held
 * whole, and runs are read side by side, each on its own; kq_compare_finish
 * lines their rows up. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/compare.h"
#include "reports/results_load.h"
#include "reports/results_stream.h"

void kq_compare_begin(struct kq_cmp *c, const struct kq_runset *rs, const struct kq_cmp_opts *o)
{
	memset(c, 0, sizeof(*c));
	c->rs = rs;
	c->opts = *o;
}

static uint64_t key_hash(const struct kq_cmp_key *k)
{
	/* the strings are interned: their addresses are their identity */
	uint64_t h = 1469598103934665603ULL;
	const char *p[] = {k->test, k->metric, k->unit, k->labels};
	for (size_t i = 0; i < 4; i++) {
		h ^= (uint64_t)(uintptr_t)p[i];
		h *= 1099511628211ULL;
		h ^= h >> 29;
	}
	return h;
}

static bool key_eq(const struct kq_cmp_key *a, const struct kq_cmp_key *b)
{
	return a->test == b->test && a->metric == b->metric && a->unit == b->unit &&
	       a->labels == b->labels;
}

static int reindex(struct kq_cmp_run *r)
{
	size_t nslots = r->nslots ? r->nslots * 2 : 1024;
	size_t *slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		size_t h = key_hash(&r->keys[i]) & (nslots - 1);
		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = i + 1;
	}
	free(r->slots);
	r->slots = slots;
	r->nslots = nslots;
	return 0;
}

static int grow_rows(struct kq_cmp_run *r)
{
	size_t cap = r->cap ? r->cap * 2 : 256;
	struct kq_cmp_row *rows = realloc(r->rows, cap * sizeof(*rows));
	if (!rows)
		return -1;
	r->rows = rows;
	struct kq_cmp_key *keys = realloc(r->keys, cap * sizeof(*keys));
	if (!keys)
		return -1;
	r->keys = keys;
	struct kq_cmp_pool *pools = realloc(r->pools, cap * sizeof(*pools));
	if (!pools)
		return -1;
	r->pools = pools;
	r->cap = cap;
	return 0;
}

/* The pool of key K, its row made (from metric M, its first member) when
 * new; NULL: out of memory. */
static struct kq_cmp_pool *pool_of(struct kq_cmp_run *r, const struct kq_cmp_key *k,
				   const char *test_name, json_t *m)
{
	if (r->nslots) {
		size_t h = key_hash(k) & (r->nslots - 1);
		for (; r->slots[h]; h = (h + 1) & (r->nslots - 1))
			if (key_eq(&r->keys[r->slots[h] - 1], k))
				return &r->pools[r->slots[h] - 1];
	}
	if (r->nrows == r->cap && grow_rows(r) != 0)
		return NULL;
	struct kq_cmp_row *row = &r->rows[r->nrows];
	struct kq_buf l = KQ_BUF_INIT;
	memset(row, 0, sizeof(*row));
	kq_labels_fmt(&l, m, kq_measurement_labels, ", ");
	row->labels = l.failed ? NULL : kq_strset_intern(&r->strings, kq_buf_str(&l));
	kq_buf_free(&l);
	if (!row->labels)
		return NULL;
	row->test = test_name ? k->test : "?";
	row->metric = json_is_string(json_object_get(m, "name")) ? k->metric : "?";
	row->unit = k->unit;
	row->dir = kq_metric_direction(m);
	r->keys[r->nrows] = *k;
	memset(&r->pools[r->nrows], 0, sizeof(r->pools[0]));
	r->nrows++;
	if (r->nrows * 2 > r->nslots) {
		if (reindex(r) != 0)
			return NULL;
	} else {
		size_t h = key_hash(k) & (r->nslots - 1);
		while (r->slots[h])
			h = (h + 1) & (r->nslots - 1);
		r->slots[h] = r->nrows;
	}
	return &r->pools[r->nrows - 1];
}

static int fold(struct kq_cmp_pool *pl, json_t *m)
{
	if (pl->members++ == 0 && kq_metric_has_stats(m)) {
		pl->first_has_stats = true;
		pl->stats_median = kq_jnum(json_object_get(m, "stats"), "median", NAN);
	}
	if (kq_samples_append(&pl->samples, &pl->n, &pl->cap, m) != 0)
		return -1;
	if (kq_metric_has_value(m)) {
		pl->has_value = true;
		pl->value_sum += json_number_value(json_object_get(m, "value"));
	}
	return 0;
}

/* Appends the test to the run's list; *interned: the list's copy of NAME. */
static int add_name(struct kq_cmp_run *r, const char *name, const char *status,
		    const char **interned)
{
	struct kq_cmp_tests *t = &r->tests;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct kq_cmp_test *v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	bool added;
	struct kq_strset_ent *e = kq_strset_add(&t->names, name, t->n, &added);
	const char *st = kq_strset_intern(&r->strings, status);
	if (!e || !st)
		return -1;
	e->v = t->n; /* the last occurrence tells the status */
	t->v[t->n++] = (struct kq_cmp_test){.name = e->s, .status = st};
	*interned = e->s;
	return 0;
}

int kq_cmp_run_add_test(struct kq_cmp_run *r, json_t *test)
{
	const char *name = kq_jstr(test, "name", NULL);
	json_t *m;
	size_t j;
	const char *tname;
	if (r->failed || add_name(r, name ? name : "", kq_jstr(test, "status", "?"), &tname) != 0)
		goto oom;
	json_array_foreach(json_object_get(test, "metrics"), j, m)
	{
		struct kq_buf l = KQ_BUF_INIT;
		kq_labels_fmt(&l, m, kq_measurement_labels, ",");
		struct kq_cmp_key k = {
		    .test = tname,
		    .metric = kq_strset_intern(&r->strings, kq_jstr(m, "name", "")),
		    .unit = kq_strset_intern(&r->strings, kq_jstr(m, "unit", "")),
		    .labels = l.failed ? NULL : kq_strset_intern(&r->strings, kq_buf_str(&l)),
		};
		kq_buf_free(&l);
		if (!k.metric || !k.unit || !k.labels)
			goto oom;
		struct kq_cmp_pool *pl = pool_of(r, &k, name, m);
		if (!pl || fold(pl, m) != 0)
			goto oom;
	}
	return 0;
oom:
	r->failed = true;
	return -1;
}

void kq_cmp_run_free(struct kq_cmp_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nrows; i++)
		free(r->pools[i].samples);
	free(r->pools);
	free(r->rows);
	free(r->keys);
	free(r->slots);
	free(r->global);
	free(r->tests.v);
	kq_strset_free(&r->tests.names);
	kq_strset_free(&r->strings);
	free(r);
}

int kq_compare_add_doc(struct kq_cmp *c, size_t run, char *err, size_t errlen)
{
	json_t *t;
	size_t i;
	struct kq_cmp_run *r = c->runs[run] = calloc(1, sizeof(*r));
	if (!r)
		goto oom;
	json_array_foreach(json_object_get(c->rs->runs[run].root, "tests"), i, t)
	{
		if (kq_cmp_run_add_test(r, t) != 0)
			goto oom;
	}
	return 0;
oom:
	snprintf(err, errlen, "compare: out of memory");
	return -1;
}

static int stream_test(void *ctx, size_t index, json_t *test, char *err, size_t errlen)
{
	(void)index;
	if (kq_cmp_run_add_test(ctx, test) == 0)
		return 0;
	snprintf(err, errlen, "compare: out of memory");
	return -1;
}

static void read_file(struct kq_cmp_file *f)
{
	f->rc = -1;
	if (!(f->run = calloc(1, sizeof(*f->run))))
		snprintf(f->err, sizeof(f->err), "compare: out of memory");
	else
		f->rc = kq_results_stream(f->path_or_dir, &f->head, stream_test, f->run, f->err,
					  sizeof(f->err));
}

struct reader {
	struct kq_cmp_file *f;
	size_t n, *next;
	pthread_mutex_t *lock;
};

static void *reader(void *arg)
{
	struct reader *w = arg;
	for (;;) {
		pthread_mutex_lock(w->lock);
		size_t i = (*w->next)++;
		pthread_mutex_unlock(w->lock);
		if (i >= w->n)
			return NULL;
		read_file(&w->f[i]);
	}
}

void kq_cmp_read_files(struct kq_cmp_file *f, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = cpus < 1 ? 1 : (size_t)cpus, next = 0, started = 0;
	pthread_t tids[KQ_MAX_RUNS];
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct reader w = {.f = f, .n = n, .next = &next, .lock = &lock};
	if (nthreads > n)
		nthreads = n;
	json_decref(json_object()); /* jansson seeds its hashing once, here */
	for (size_t t = 1; t < nthreads && t < KQ_MAX_RUNS; t++)
		if (pthread_create(&tids[started], NULL, reader, &w) == 0)
			started++;
	reader(&w); /* this thread reads too (and alone if none started) */
	for (size_t t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
}

int kq_compare_add_read(struct kq_cmp *c, struct kq_runset *rs, struct kq_cmp_file *f, char *err,
			size_t errlen)
{
	if (f->rc != 0) {
		snprintf(err, errlen, "%s", f->err);
		return -1;
	}
	size_t run = rs->n;
	char *path = kq_results_path(f->path_or_dir);
	int rc = kq_runset_add_json(rs, f->head, path ? path : f->path_or_dir, err, errlen);
	free(path);
	f->head = NULL; /* the run set's now, or freed */
	if (rc == 0) {
		c->runs[run] = f->run;
		f->run = NULL;
	}
	return rc;
}

void kq_cmp_file_free(struct kq_cmp_file *f)
{
	json_decref(f->head);
	kq_cmp_run_free(f->run);
	f->head = NULL;
	f->run = NULL;
}

int kq_cmp_pool_center(const struct kq_cmp_pool *pl, double *center)
{
	struct kq_stats st;
	*center = NAN;
	if (pl->n) {
		if (kq_stats_compute(pl->samples, pl->n, &st) != 0)
			return -1;
		*center = st.median;
	} else if (pl->first_has_stats) {
		*center = pl->stats_median;
	} else if (pl->has_value) {
		*center = pl->value_sum / (double)pl->members;
	}
	return 0;
}
