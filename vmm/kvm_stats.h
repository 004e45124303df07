/* KVM's binary statistics (KVM_GET_STATS_FD): the kernel's own counters of a
 * VM or vCPU, such as exits, io_exits and insn_emulation. Read before and
 * after a measurement, they show which exits really happened and where. */
#ifndef KQ_VMM_KVM_STATS_H
#define KQ_VMM_KVM_STATS_H

#include <jansson.h>
#include <stdint.h>

struct kq_kvm_stats {
	int fd;
	uint32_t ndesc;
	char *names; /* ndesc names of name_size bytes */
	uint32_t name_size;
	uint32_t *offsets; /* data offsets of each counter's first value */
	uint64_t data_offset;
};

/* Opens the stats of a VM or vCPU fd; -1 with kq_err() (unavailable when the
 * kernel lacks KVM_CAP_BINARY_STATS_FD). */
int kq_kvm_stats_open(struct kq_kvm_stats *s, int kvm_obj_fd);
void kq_kvm_stats_close(struct kq_kvm_stats *s);
/* Current values of every scalar counter as {"name": value}. */
json_t *kq_kvm_stats_read(const struct kq_kvm_stats *s);
/* after - before for every counter that changed. */
json_t *kq_kvm_stats_delta(const json_t *before, const json_t *after);

#endif
