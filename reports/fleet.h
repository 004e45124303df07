/* `kvmqual fleet report`: the hosts of a database selection side by side on
 * their headline metrics (per test, its first sampled metric), each host's
 * deviation from the fleet median as a robust z-score,
 * z = 0.6745 (x - median) / MAD (Iglewicz and Hoaglin), |z| > 3.5 an
 * outlier, and the probe facts in which a host differs from most of the
 * fleet (microcode, kernel, mitigations, THP, CPU) beside it. */
#ifndef KQ_REPORTS_FLEET_H
#define KQ_REPORTS_FLEET_H

#include <stdbool.h>
#include <stddef.h>

#include "reports/db.h"
#include "core/strbuf.h"

#define KQ_FLEET_OUTLIER_Z 3.5

struct kq_fleet_host {
	char *name;
	char *facts[5]; /* cpu, microcode, kernel, mitigations, thp (latest run) */
	size_t runs;
};

struct kq_fleet_metric {
	char *key; /* "test/metric [labels]" */
	char *unit;
	double *value; /* per host: median of its runs' medians; NAN when absent */
	double *z;     /* per host; NAN when absent */
	double median, mad;
	size_t hosts; /* hosts that have it */
};

struct kq_fleet {
	struct kq_fleet_host *h;
	size_t nh;
	struct kq_fleet_metric *m;
	size_t nm;
};

extern const char *const kq_fleet_fact_names[5];

int kq_fleet_build(struct kq_db *db, const struct kq_db_sel *sel, struct kq_fleet *out, char *err,
		   size_t errlen);
void kq_fleet_free(struct kq_fleet *f);
/* Robust z of x against median and MAD (exposed for tests). */
double kq_robust_z(double x, double median, double mad);
bool kq_fleet_outlier(double z);
/* "kernel 6.1 (fleet: 6.2), thp never (fleet: always)" for host i; "" when none. */
void kq_fleet_explain(const struct kq_fleet *f, size_t i, struct kq_buf *out);
size_t kq_fleet_outliers(const struct kq_fleet *f);

#endif
