/* `kvmqual history`: one metric across stored runs, in time order. Each
 * series is one host, test and label set; each point one run: the median of
 * the run's samples with a distribution-free 95% interval of the median, the
 * kernel it ran on; step changes from reports/changepoint.h. */
#ifndef KQ_REPORTS_HISTORY_H
#define KQ_REPORTS_HISTORY_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/changepoint.h"
#include "reports/db.h"
#include "core/strbuf.h"

struct kq_hist_point {
	long long run_pk;
	char *run_id, *started, *kernel;
	double median, lo, hi; /* lo == hi == median for a value without samples */
	size_t n;	       /* samples */
};

struct kq_hist_series {
	char *host, *test, *labels, *unit;
	struct kq_hist_point *pts;
	size_t n, cap;
	struct kq_change changes[16];
	size_t nchanges;
};

struct kq_history {
	char *metric;
	struct kq_hist_series *v;
	size_t n, cap;
	struct kq_cp_opts cp;
};

struct kq_hist_query {
	const char *metric, *host, *test, *since; /* host, test, since may be NULL */
};

/* Reads the series from the database and finds their change points. */
int kq_history_build(struct kq_db *db, const struct kq_hist_query *q, const struct kq_cp_opts *cp,
		     struct kq_history *out, char *err, size_t errlen);
void kq_history_free(struct kq_history *h);
/* The table and the list of step changes, as text. */
void kq_history_text(const struct kq_history *h, struct kq_buf *out);

/* The 95% interval of the median of sorted v[0..n) from order statistics
 * (normal approximation to the binomial; the whole range when n < 6). */
void kq_median_interval(const double *sorted, size_t n, double *lo, double *hi);

#endif
