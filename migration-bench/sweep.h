/* The shaped-link sweep: migrations between two network namespaces over a
 * grid of link bandwidth x guest dirty rate (sweep.c). */
#ifndef KQ_MIG_SWEEP_H
#define KQ_MIG_SWEEP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KQ_SWEEP_MAX 8 /* bandwidths, and dirty rates */

struct kq_mig_sweep_opts {
	double mbit[KQ_SWEEP_MAX]; /* link rates, Mbit/s */
	int nbw;
	uint64_t rate[KQ_SWEEP_MAX]; /* dirty rates, pages/s */
	int nrates;
	double delay_ms; /* one way, each end */
	uint64_t mem;	 /* guest test memory */
	double downtime_ms, max_time_s;
};

struct kq_mig_sweep_cell {
	double mbit;
	uint64_t rate;
	int status; /* as kq_mig_send_result: 0 migrated, 1 did not converge, -1 failed */
	bool source_resumed;
	int iters;
	double total_s, downtime_ms, guest_downtime_ms, throughput_MBps;
	char reason[256];
};

/* A cell whose migration failed: an error, or no convergence and the source
 * not resumed. A cell that did not converge with its source running is a
 * result. */
static inline bool kq_mig_sweep_cell_failed(const struct kq_mig_sweep_cell *c)
{
	return c->status == -1 || (c->status == 1 && !c->source_resumed);
}

/* Parses "50,200,1000" into at most KQ_SWEEP_MAX positive numbers. */
int kq_mig_sweep_list(const char *s, double *v, int *n);
/* Runs every cell; -1 with err when the namespaces could not be made, and
 * *skip set when that is a missing capability (not root, no iproute2, no
 * veth or tbf/netem in this kernel) rather than a failure. */
int kq_mig_sweep(const struct kq_mig_sweep_opts *o, struct kq_mig_sweep_cell *cells, bool *skip,
		 char *err, size_t n);
json_t *kq_mig_sweep_json(const struct kq_mig_sweep_opts *o, const struct kq_mig_sweep_cell *c);

#endif
