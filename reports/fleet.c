#include "reports/fleet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stats.h"

const char *const kq_fleet_fact_names[5] = {"cpu", "microcode", "kernel", "mitigations", "thp"};

double kq_robust_z(double x, double median, double mad)
{
	if (isnan(x))
		return NAN;
	if (mad > 0)
		return 0.6745 * (x - median) / mad;
	return x == median ? 0 : (x > median ? INFINITY : -INFINITY);
}

bool kq_fleet_outlier(double z)
{
	return !isnan(z) && fabs(z) > KQ_FLEET_OUTLIER_Z;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n ? kq_percentile_sorted(v, n, 50) : NAN;
}

static size_t host_index(struct kq_fleet *f, const char *name)
{
	for (size_t i = 0; i < f->nh; i++)
		if (strcmp(f->h[i].name, name) == 0)
			return i;
	struct kq_fleet_host *v = realloc(f->h, (f->nh + 1) * sizeof(*v));
	if (!v)
		return (size_t)-1;
	f->h = v;
	memset(&f->h[f->nh], 0, sizeof(f->h[0]));
	f->h[f->nh].name = strdup(name);
	return f->nh++;
}

/* Per metric key, per host, the run medians seen (a JSON-free growable list). */
struct obs {
	char *key, *unit;
	size_t host;
	double *v;
	size_t n;
};

int kq_fleet_build(struct kq_db *db, const struct kq_db_sel *sel, struct kq_fleet *f, char *err,
		   size_t errlen)
{
	long long *pks = NULL;
	size_t npk = 0, nobs = 0;
	struct obs *obs = NULL;
	int rc = -1;
	memset(f, 0, sizeof(*f));
	if (kq_db_select_runs(db, sel, &pks, &npk, err, errlen) != 0)
		return -1;
	if (!npk) {
		snprintf(err, errlen, "%s: no stored run matches the selection", db->url);
		goto out;
	}
	for (size_t r = 0; r < npk; r++) {
		char id[32];
		struct kq_db_rows rows;
		snprintf(id, sizeof(id), "%lld", pks[r]);
		const char *p[] = {id};
		if (kq_db_exec(
			db,
			"SELECT h.hostname, h.cpu_brand, h.microcode, h.kernel, h.mitigations,"
			" h.thp, t.name, m.name, m.unit, m.labels, m.median"
			" FROM runs r JOIN hosts h ON h.id = r.host_id"
			" JOIN tests t ON t.run_pk = r.id JOIN metrics m ON m.test_pk = t.id"
			" WHERE r.id = $1 AND m.median IS NOT NULL"
			" ORDER BY t.ordinal, m.ordinal",
			1, p, &rows, err, errlen) != 0)
			goto out;
		const char *last_test = NULL;
		for (size_t i = 0; i < rows.nrows; i++) {
#define C(k) (kq_db_cell(&rows, i, k) ? kq_db_cell(&rows, i, k) : "")
			size_t hi = host_index(f, C(0));
			if (hi == (size_t)-1)
				goto oom;
			if (i == 0) {
				f->h[hi].runs++;
				for (int k = 0; k < 5;
				     k++) { /* runs are in time order: latest wins */
					free(f->h[hi].facts[k]);
					f->h[hi].facts[k] = strdup(C(1 + k));
				}
			}
			/* the headline: each test's first sampled metric, not a reference loop's */
			if (last_test && strcmp(last_test, C(6)) == 0)
				continue;
			if (strstr(C(9), "reference=true"))
				continue;
			last_test = C(6);
			char *key = NULL;
			if (asprintf(&key, "%s/%s%s%s%s", C(6), C(7), *C(9) ? " [" : "", C(9),
				     *C(9) ? "]" : "") < 0)
				goto oom;
			size_t o = 0;
			while (o < nobs && !(obs[o].host == hi && strcmp(obs[o].key, key) == 0))
				o++;
			if (o == nobs) {
				struct obs *v = realloc(obs, (nobs + 1) * sizeof(*v));
				if (!v) {
					free(key);
					goto oom;
				}
				obs = v;
				memset(&obs[nobs], 0, sizeof(obs[0]));
				obs[nobs].key = key;
				obs[nobs].unit = strdup(C(8));
				obs[nobs++].host = hi;
			} else {
				free(key);
			}
			double *v = realloc(obs[o].v, (obs[o].n + 1) * sizeof(double));
			if (!v)
				goto oom;
			obs[o].v = v;
			v[obs[o].n++] = strtod(C(10), NULL);
#undef C
		}
		/* a run without a sampled metric still names its host */
		kq_db_rows_free(&rows);
		continue;
	oom:
		kq_db_rows_free(&rows);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* metrics: one row per key, one column per host */
	for (size_t o = 0; o < nobs; o++) {
		size_t k = 0;
		while (k < f->nm && strcmp(f->m[k].key, obs[o].key) != 0)
			k++;
		if (k == f->nm) {
			struct kq_fleet_metric *v = realloc(f->m, (f->nm + 1) * sizeof(*v));
			if (!v)
				goto nomem;
			f->m = v;
			memset(&f->m[k], 0, sizeof(f->m[k]));
			f->m[k].key = strdup(obs[o].key);
			f->m[k].unit = strdup(obs[o].unit);
			f->m[k].value = malloc(f->nh * sizeof(double));
			f->m[k].z = malloc(f->nh * sizeof(double));
			if (!f->m[k].value || !f->m[k].z)
				goto nomem;
			for (size_t h = 0; h < f->nh; h++)
				f->m[k].value[h] = f->m[k].z[h] = NAN;
			f->nm++;
		}
		f->m[k].value[obs[o].host] = median_of(obs[o].v, obs[o].n);
	}
	double *tmp = malloc((f->nh ? f->nh : 1) * sizeof(double));
	if (!tmp)
		goto nomem;
	for (size_t k = 0; k < f->nm; k++) {
		struct kq_fleet_metric *m = &f->m[k];
		size_t n = 0;
		for (size_t h = 0; h < f->nh; h++)
			if (!isnan(m->value[h]))
				tmp[n++] = m->value[h];
		m->hosts = n;
		m->median = median_of(tmp, n);
		for (size_t i = 0; i < n; i++)
			tmp[i] = fabs(tmp[i] - m->median);
		m->mad = median_of(tmp, n);
		for (size_t h = 0; h < f->nh; h++)
			m->z[h] = n >= 2 ? kq_robust_z(m->value[h], m->median, m->mad) : NAN;
	}
	free(tmp);
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	for (size_t o = 0; o < nobs; o++) {
		free(obs[o].key);
		free(obs[o].unit);
		free(obs[o].v);
	}
	free(obs);
	free(pks);
	return rc;
}

void kq_fleet_free(struct kq_fleet *f)
{
	for (size_t i = 0; i < f->nh; i++) {
		free(f->h[i].name);
		for (int k = 0; k < 5; k++)
			free(f->h[i].facts[k]);
	}
	for (size_t k = 0; k < f->nm; k++) {
		free(f->m[k].key);
		free(f->m[k].unit);
		free(f->m[k].value);
		free(f->m[k].z);
	}
	free(f->h);
	free(f->m);
	memset(f, 0, sizeof(*f));
}

/* The value most hosts have for fact k (ties: the first seen). */
static const char *fleet_mode(const struct kq_fleet *f, int k)
{
	const char *best = NULL;
	size_t best_n = 0;
	for (size_t i = 0; i < f->nh; i++) {
		const char *v = f->h[i].facts[k] ? f->h[i].facts[k] : "";
		size_t n = 0;
		for (size_t j = 0; j < f->nh; j++)
			n += strcmp(v, f->h[j].facts[k] ? f->h[j].facts[k] : "") == 0;
		if (n > best_n) {
			best = v;
			best_n = n;
		}
	}
	return best ? best : "";
}

void kq_fleet_explain(const struct kq_fleet *f, size_t i, struct kq_buf *out)
{
	bool first = true;
	if (f->nh < 2)
		return;
	for (int k = 0; k < 5; k++) {
		const char *mode = fleet_mode(f, k), *v = f->h[i].facts[k] ? f->h[i].facts[k] : "";
		if (strcmp(mode, v) == 0)
			continue;
		kq_buf_printf(out, "%s%s %s (fleet: %s)", first ? "" : "; ", kq_fleet_fact_names[k],
			      *v ? v : "unknown", *mode ? mode : "unknown");
		first = false;
	}
}

size_t kq_fleet_outliers(const struct kq_fleet *f)
{
	size_t n = 0;
	for (size_t k = 0; k < f->nm; k++)
		for (size_t h = 0; h < f->nh; h++)
			n += kq_fleet_outlier(f->m[k].z[h]);
	return n;
}
