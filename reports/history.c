#include "reports/history.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/db_time.h"
#include "core/stats.h"

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void kq_median_interval(const double *v, size_t n, double *lo, double *hi)
{
	if (n == 0) {
		*lo = *hi = NAN;
		return;
	}
	if (n < 6) {
		*lo = v[0];
		*hi = v[n - 1];
		return;
	}
	double half = 1.959963984540054 * sqrt((double)n) / 2;
	long j = (long)floor(n / 2.0 - half), k = (long)ceil(n / 2.0 + half);
	if (j < 0)
		j = 0;
	if (k > (long)n - 1)
		k = (long)n - 1;
	*lo = v[j];
	*hi = v[k];
}

static char *dup0(const char *s)
{
	return strdup(s ? s : "");
}

static struct kq_hist_series *series_for(struct kq_history *h, const char *host, const char *test,
					 const char *labels, const char *unit)
{
	for (size_t i = 0; i < h->n; i++) {
		struct kq_hist_series *s = &h->v[i];
		if (!strcmp(s->host, host) && !strcmp(s->test, test) &&
		    !strcmp(s->labels, labels) && !strcmp(s->unit, unit))
			return s;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 8;
		void *v = realloc(h->v, cap * sizeof(*h->v));
		if (!v)
			return NULL;
		h->v = v;
		h->cap = cap;
	}
	struct kq_hist_series *s = &h->v[h->n];
	memset(s, 0, sizeof(*s));
	s->host = dup0(host);
	s->test = dup0(test);
	s->labels = dup0(labels);
	s->unit = dup0(unit);
	if (!s->host || !s->test || !s->labels || !s->unit)
		return NULL;
	h->n++;
	return s;
}

/* Samples of one run's metrics in a series: appended to *buf. */
static int load_samples(struct kq_db *db, const char *metric_pk, double **buf, size_t *n,
			size_t *cap, char *err, size_t errlen)
{
	struct kq_db_rows rows;
	const char *p[] = {metric_pk};
	if (kq_db_exec(db, "SELECT value FROM samples WHERE metric_pk = $1 ORDER BY ordinal", 1, p,
		       &rows, err, errlen) != 0)
		return -1;
	for (size_t i = 0; i < rows.nrows; i++) {
		if (*n == *cap) {
			size_t c = *cap ? *cap * 2 : 256;
			double *v = realloc(*buf, c * sizeof(*v));
			if (!v) {
				kq_db_rows_free(&rows);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			*buf = v;
			*cap = c;
		}
		(*buf)[(*n)++] = strtod(kq_db_cell(&rows, i, 0), NULL);
	}
	kq_db_rows_free(&rows);
	return 0;
}

/* Finishes the point being pooled (samples or values of one run). */
static int close_point(struct kq_hist_series *s, double *samples, size_t ns, double value_sum,
		       size_t nvalues, double stat_median)
{
	struct kq_hist_point *pt = &s->pts[s->n - 1];
	if (ns) {
		qsort(samples, ns, sizeof(*samples), cmp_d);
		pt->median = kq_percentile_sorted(samples, ns, 50);
		kq_median_interval(samples, ns, &pt->lo, &pt->hi);
		pt->n = ns;
	} else if (nvalues) {
		pt->median = pt->lo = pt->hi = value_sum / nvalues;
	} else {
		pt->median = pt->lo = pt->hi = stat_median;
	}
	return 0;
}

int kq_history_build(struct kq_db *db, const struct kq_hist_query *q, const struct kq_cp_opts *cp,
		     struct kq_history *out, char *err, size_t errlen)
{
	struct kq_db_rows rows;
	char since[32] = "";
	time_t t;
	memset(out, 0, sizeof(*out));
	out->cp = *cp;
	out->metric = strdup(q->metric);
	if (q->since) {
		if (kq_time_parse(q->since, &t) != 0) {
			snprintf(err, errlen, "--since: \"%s\" is not a date (YYYY-MM-DD)",
				 q->since);
			return -1;
		}
		snprintf(since, sizeof(since), "%lld", (long long)t);
	}
	const char *p[] = {q->metric, q->test, q->host, *since ? since : NULL};
	if (kq_db_exec(db,
		       "SELECT h.hostname, t.name, m.labels, m.unit, r.id, r.run_id, r.started,"
		       " r.kernel, m.id, m.median, m.value"
		       " FROM metrics m JOIN tests t ON t.id = m.test_pk"
		       " JOIN runs r ON r.id = t.run_pk JOIN hosts h ON h.id = r.host_id"
		       " WHERE m.name = $1 AND (CAST($2 AS TEXT) IS NULL OR t.name = $2)"
		       " AND (CAST($3 AS TEXT) IS NULL OR h.hostname = $3)"
		       " AND (CAST($4 AS BIGINT) IS NULL OR r.started_unix >= $4)"
		       " ORDER BY h.hostname, t.name, m.labels, m.unit, r.started_unix, r.id, m.id",
		       4, p, &rows, err, errlen) != 0)
		return -1;
	double *buf = NULL, vsum = 0, smed = NAN;
	size_t ns = 0, cap = 0, nv = 0;
	struct kq_hist_series *cur = NULL;
	int rc = -1;
	for (size_t i = 0; i < rows.nrows; i++) {
#define C(k) kq_db_cell(&rows, i, k)
		struct kq_hist_series *s = series_for(out, C(0), C(1), C(2), C(3));
		if (!s) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		long long run = strtoll(C(4), NULL, 10);
		if (s != cur || s->pts[s->n - 1].run_pk != run) {
			if (cur)
				close_point(cur, buf, ns, vsum, nv, smed);
			ns = nv = 0;
			vsum = 0;
			smed = NAN;
			if (s->n == s->cap) {
				size_t c = s->cap ? s->cap * 2 : 16;
				void *v = realloc(s->pts, c * sizeof(*s->pts));
				if (!v) {
					snprintf(err, errlen, "out of memory");
					goto done;
				}
				s->pts = v;
				s->cap = c;
			}
			struct kq_hist_point *pt = &s->pts[s->n++];
			memset(pt, 0, sizeof(*pt));
			pt->run_pk = run;
			pt->run_id = dup0(C(5));
			pt->started = dup0(C(6));
			pt->kernel = dup0(C(7));
			cur = s;
		}
		if (load_samples(db, C(8), &buf, &ns, &cap, err, errlen) != 0)
			goto done;
		if (C(10)) {
			vsum += strtod(C(10), NULL);
			nv++;
		}
		if (C(9) && isnan(smed))
			smed = strtod(C(9), NULL);
#undef C
	}
	if (cur)
		close_point(cur, buf, ns, vsum, nv, smed);
	for (size_t i = 0; i < out->n; i++) {
		struct kq_hist_series *s = &out->v[i];
		double *x = malloc((s->n ? s->n : 1) * sizeof(*x));
		if (!x) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		for (size_t k = 0; k < s->n; k++)
			x[k] = s->pts[k].median;
		int nc = kq_changepoints(x, s->n, &out->cp, s->changes,
					 sizeof(s->changes) / sizeof(s->changes[0]));
		free(x);
		if (nc < 0) {
			snprintf(err, errlen, "out of memory");
			goto done;
		}
		s->nchanges = (size_t)nc;
	}
	rc = 0;
done:
	free(buf);
	kq_db_rows_free(&rows);
	return rc;
}

void kq_history_free(struct kq_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct kq_hist_series *s = &h->v[i];
		for (size_t k = 0; k < s->n; k++) {
			free(s->pts[k].run_id);
			free(s->pts[k].started);
			free(s->pts[k].kernel);
		}
		free(s->pts);
		free(s->host);
		free(s->test);
		free(s->labels);
		free(s->unit);
	}
	free(h->v);
	free(h->metric);
	memset(h, 0, sizeof(*h));
}

void kq_history_text(const struct kq_history *h, struct kq_buf *b)
{
	if (!h->n) {
		kq_buf_printf(b, "history of %s: no stored run has this metric\n", h->metric);
		return;
	}
	for (size_t i = 0; i < h->n; i++) {
		const struct kq_hist_series *s = &h->v[i];
		kq_buf_printf(b, "%shistory of %s (%s), test %s, host %s%s%s: %zu runs\n",
			      i ? "\n" : "", h->metric, s->unit, s->test, s->host,
			      *s->labels ? ", " : "", s->labels, s->n);
		kq_buf_printf(b, "  %3s  %-20s %-20s %-26s %12s  %-27s %6s\n", "#", "run",
			      "started", "kernel (* new)", "median", "95% interval of the median",
			      "n");
		for (size_t k = 0; k < s->n; k++) {
			const struct kq_hist_point *pt = &s->pts[k];
			bool new_kernel = k == 0 || strcmp(pt->kernel, s->pts[k - 1].kernel) != 0;
			for (size_t c = 0; c < s->nchanges; c++)
				if (s->changes[c].at == k)
					kq_buf_puts(b, "  ---- step change ----\n");
			char kern[64], med[32], lo[32], hi[32];
			snprintf(kern, sizeof(kern), "%s%s", pt->kernel, new_kernel ? " *" : "");
			snprintf(med, sizeof(med), "%.6g", pt->median);
			snprintf(lo, sizeof(lo), "%.6g", pt->lo);
			snprintf(hi, sizeof(hi), "%.6g", pt->hi);
			char iv[72];
			snprintf(iv, sizeof(iv), "[%s, %s]", lo, hi);
			kq_buf_printf(b, "  %3zu  %-20s %-20s %-26s %12s  %-27s %6zu\n", k + 1,
				      pt->run_id, pt->started, kern, med, iv, pt->n);
		}
		kq_buf_printf(b,
			      "step changes (CUSUM t statistic on run medians, circular binary "
			      "segmentation; false-alarm "
			      "rate %g per series):%s\n",
			      h->cp.alpha,
			      s->nchanges ? "" : (s->n < 4 ? " too few runs (need 4)" : " none"));
		for (size_t c = 0; c < s->nchanges; c++) {
			const struct kq_change *ch = &s->changes[c];
			const struct kq_hist_point *a = &s->pts[ch->at - 1], *z = &s->pts[ch->at];
			double pct = ch->before != 0
					 ? (ch->after - ch->before) / fabs(ch->before) * 100
					 : NAN;
			kq_buf_printf(
			    b,
			    "  between run %zu (%s, kernel %s) and run %zu (%s, kernel %s): "
			    "median %.6g -> %.6g %s (%+.1f%%), p = %.4f\n",
			    ch->at, a->run_id, a->kernel, ch->at + 1, z->run_id, z->kernel,
			    ch->before, ch->after, s->unit, pct, ch->p);
		}
	}
}
