/* The bare reference loop: the smallest KVM_RUN loop doing the same exit as
 * a micro-VMM benchmark, with no runner, no vmm library and no dispatch
 * around it. The ratio micro-VMM / reference shows what our VMM adds. */
#ifndef KQ_WORKLOADS_REFERENCE_H
#define KQ_WORKLOADS_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

enum kq_reference_kind { KQ_REF_PIO, KQ_REF_MMIO };

struct kq_reference {
	uint64_t totals[3072]; /* per-batch host TSC cycles */
	size_t n;
	uint64_t batch;	  /* exits per batch */
	uint64_t tsc_khz; /* KVM_GET_TSC_KHZ of its vCPU */
};

/* Runs the loop for about goal_ms. Returns 0, or -1 with err set. */
int kq_reference_run(enum kq_reference_kind kind, double goal_ms, struct kq_reference *out,
		     char *err, size_t errlen);

/* Rounds of the interleaved comparison (workloads/exit_reference.c). */
#define KQ_REF_ROUNDS 8

/* Two-sided 95% quantile of Student's t with DF degrees of freedom (a table
 * to 30, 1.96 beyond; NaN for 0). */
double kq_t975(size_t df);
/* Geometric mean of N > 1 positive ratios and its 95% Student t interval
 * (on their logarithms). Returns 0, or -1 (too few, or one not positive). */
int kq_ratio_ci(const double *ratios, size_t n, double *gmean, double *lo, double *hi);

#endif
