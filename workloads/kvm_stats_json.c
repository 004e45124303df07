#include "workloads/kvm_stats_json.h"

#include <string.h>

json_t *kq_kvm_stats_delta_json(const struct kq_kvm_stat *before, size_t nbefore,
				const struct kq_kvm_stat *after, size_t nafter)
{
	json_t *d = json_object();
	for (size_t i = 0; i < nafter; i++) {
		/* A counter missing from the first read counts from zero. */
		uint64_t b =
		    i < nbefore && strcmp(before[i].name, after[i].name) == 0 ? before[i].value : 0;
		if (after[i].value != b)
			json_object_set_new(d, after[i].name,
					    json_integer((json_int_t)(after[i].value - b)));
	}
	return d;
}
