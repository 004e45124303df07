/* One or more loaded results.json files ("runs") as the reports see them,
 * and pools: metrics grouped under a caller-chosen key with their samples
 * merged (repeats of one measurement, per-vCPU copies, or the same metric
 * across runs), each with statistics from kq_stats_compute. */
#ifndef KQ_REPORTS_RUNSET_H
#define KQ_REPORTS_RUNSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/stats.h"
#include "core/labels.h"
#include "core/strbuf.h"

#define KQ_MAX_RUNS 26 /* labelled A..Z */

struct kq_run {
	char label[2];	 /* "A", "B", ... in command-line order */
	char *path;	 /* the results.json it came from */
	json_t *root;	 /* owned */
	const char *env; /* "emulated", "nested", "bare-metal" */
	const char *hostname, *cpu_brand, *kernel, *run_id;
};

struct kq_runset {
	struct kq_run runs[KQ_MAX_RUNS];
	size_t n;
};

/* Loads and appends a run. Returns 0, or -1 with a message in err. */
int kq_runset_add(struct kq_runset *rs, const char *path_or_dir, char *err, size_t errlen);
/* Appends an already checked document (steals the reference). */
int kq_runset_add_json(struct kq_runset *rs, json_t *root, const char *path, char *err,
		       size_t errlen);
void kq_runset_free(struct kq_runset *rs);

bool kq_runset_any_emulated(const struct kq_runset *rs);
/* "host (cpu brand), kernel R, environment E" for one run. */
void kq_run_describe(const struct kq_run *r, struct kq_buf *b);
/* The line under every chart title: the single host, or "A: … / B: …". */
void kq_runset_describe(const struct kq_runset *rs, struct kq_buf *b);

/* Time units where lower is better, in ns: kq_time_unit_ns("us") = 1000;
 * 0 for anything that is not a time. */
double kq_time_unit_ns(const char *unit);
bool kq_unit_is_latency(const char *unit); /* a time unit, or "cycles" */

struct kq_pool {
	char *key;
	size_t run;	       /* index into the run set */
	json_t *test, *metric; /* the first member (borrowed) */
	size_t members;
	double *samples; /* all members' samples */
	size_t n, cap;
	bool has_stats;	       /* stats below are meaningful */
	struct kq_stats stats; /* over the samples, or the first member's stats without samples */
	bool has_value;	       /* value-only metrics: mean of the members' values */
	double value, value_sum;
	double x; /* free for the caller (a chart's x position, a sort key) */
};

struct kq_pools {
	struct kq_pool *v;
	size_t n, cap;
	size_t *slots; /* open-addressing index: position + 1, 0 empty */
	size_t nslots;
	bool failed;
};

/* Appends the numbers of METRIC's "samples" to SAMPLES (N used, CAP
 * allocated; the first member exactly, then doubling); -1: out of memory. */
int kq_samples_append(double **samples, size_t *n, size_t *cap, const json_t *metric);

/* Adds METRIC (of TEST in run RUN) to the pool named KEY, creating it.
 * Pointers into p->v stay valid only until the next kq_pools_add. */
struct kq_pool *kq_pools_add(struct kq_pools *p, const char *key, size_t run, json_t *test,
			     json_t *metric);
struct kq_pool *kq_pools_find(const struct kq_pools *p, const char *key);
/* Computes each pool's statistics; returns -1 on allocation failure. */
int kq_pools_finish(struct kq_pools *p);
void kq_pools_free(struct kq_pools *p);

/* The pooled centre: the median when there are statistics, else the value. */
double kq_pool_center(const struct kq_pool *pl);

#endif
