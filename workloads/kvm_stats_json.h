/* KVM's binary statistics (vmm/kvm_stats.h) as results.json evidence. */
#ifndef KQ_WORKLOADS_KVM_STATS_JSON_H
#define KQ_WORKLOADS_KVM_STATS_JSON_H

#include <jansson.h>
#include <stddef.h>
#include "vmm/kvm_stats.h"

/* {"name": after - before} for every counter that changed. Both reads come
 * from one kq_kvm_stats, so a counter sits at the same index in both. */
json_t *kq_kvm_stats_delta_json(const struct kq_kvm_stat *before, size_t nbefore,
				const struct kq_kvm_stat *after, size_t nafter);

#endif
