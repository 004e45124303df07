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

struct kq_test;
struct kq_run_opts;
struct kq_result;
/* Runs the loop in the calling test's process and adds its samples as
 * "<ref_name>.cycles/.ns" and "ratio_vs_reference" = median(metric) / median
 * of the reference; a failing loop fails the test. */
void kq_add_reference(const struct kq_test *t, const struct kq_run_opts *o, struct kq_result *res,
		      enum kq_reference_kind kind, const char *metric, const char *ref_name);

#endif
