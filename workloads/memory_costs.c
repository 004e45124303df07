#include "workloads/memory_costs.h"
#include "workloads/memory_host.h"
#include "workloads/memory_matrix.h"

#include <sched.h>

uint64_t kq_costs_memory(const struct kq_test *t, const struct kq_run_opts *o, uint64_t quick_def,
			 uint64_t full_def, uint64_t emu_max)
{
	uint64_t m = t->mem_bytes;
	if (!m && o->quick)
		m = kq_test_param_size(t, "quick_memory", quick_def);
	if (!m) {
		uint64_t cap = kq_default_max_set();
		m = full_def < cap ? full_def : cap;
	}
	if (kq_memory_emulated() && m > emu_max)
		m = emu_max;
	m &= ~((2ULL << 20) - 1);
	return m ? m : 2ULL << 20;
}

int kq_costs_doublings(int max, int *out, int cap)
{
	int n = 0;
	for (int v = 1; v < max && n < cap - 1; v *= 2)
		out[n++] = v;
	out[n++] = max < 1 ? 1 : max;
	return n;
}

int kq_costs_cpus_available(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

json_t *kq_costs_metric(struct kq_result *res, const char *name, const char *unit,
			const double *values, size_t n, json_t *labels)
{
	json_t *m = n >= 2 ? kq_result_add_samples(res, name, unit, values, n)
			   : kq_result_add_value(res, name, unit, n ? values[0] : 0);
	json_object_update(json_object_get(m, "labels"), labels);
	json_decref(labels);
	return m;
}
