/* Shared by the memory cost drivers (memory.dirty-log, memory.slots,
 * memory.vm-create): how big, how many vCPUs, and metrics per GiB. */
#ifndef KQ_WORKLOADS_MEMORY_COSTS_H
#define KQ_WORKLOADS_MEMORY_COSTS_H

#include <stddef.h>
#include <stdint.h>

#include "core/test.h"

/* Guest memory for the test: `memory` when set, else `quick_memory` (default
 * QUICK_DEF) with --quick, else FULL_DEF capped at min(1 GiB, 25% of
 * MemAvailable); in the emulated host at most EMU_MAX. Whole 2 MiB. */
uint64_t kq_costs_memory(const struct kq_test *t, const struct kq_run_opts *o, uint64_t quick_def,
			 uint64_t full_def, uint64_t emu_max);
/* 1, 2, 4, ... below max, and max itself (vCPU or slot counts); returns how many. */
int kq_costs_doublings(int max, int *out, int cap);
/* CPUs this process may run on (sched_getaffinity). */
int kq_costs_cpus_available(void);
/* Adds NAME in UNIT from VALUES: samples when there are two or more, a value
 * for one; LABELS (a JSON object, stolen) are added to its labels. */
json_t *kq_costs_metric(struct kq_result *res, const char *name, const char *unit,
			const double *values, size_t n, json_t *labels);

#endif
