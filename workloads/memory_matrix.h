/* What memory.matrix will run: the working sets, kernels and slot size from
 * the test's keys, checked at load time (kq_memory_validate) and resolved at
 * run time (kq_memory_plan). */
#ifndef KQ_WORKLOADS_MEMORY_MATRIX_H
#define KQ_WORKLOADS_MEMORY_MATRIX_H

#include "core/test.h"
#include "workloads/memory_host.h"

#define KQ_MEMORY_MAX_SETS 160

struct kq_memory_plan {
	uint64_t sets[KQ_MEMORY_MAX_SETS];
	size_t nsets;
	enum kq_memk_kernel kernels[KQ_MEMK_COUNT];
	int nkernels;
	uint64_t seed;
	uint64_t slot; /* bytes of the test region (and of the native buffer) */
	bool native;
};

extern const struct kq_param_spec kq_memory_params[];
int kq_memory_validate(const struct kq_test *t, char *err, size_t errlen, const char **key);
int kq_memory_plan(const struct kq_test *t, const struct kq_run_opts *o, struct kq_memory_plan *p,
		   char *err, size_t errlen);
/* reserve_hugepages = yes: raises the pool the cell needs; -1 after setting
 * the result (SKIP) when it cannot. */
int kq_memory_reserve(const struct kq_test *t, const struct kq_memory_plan *p,
		      struct kq_hugepages *hp, struct kq_result *res);
/* "; make it available with: echo N > ..." for hugetlb backings, else "". */
const char *kq_memory_remedy(const struct kq_test *t, const struct kq_memory_plan *p);
/* True in the emulated host, where working sets stay small. */
bool kq_memory_emulated(void);

#endif
