/* KVM's binary statistics (KVM_GET_STATS_FD): the kernel's own counters of a
 * VM or vCPU, such as exits, io_exits and insn_emulation. Read before and
 * after a measurement, they show which exits really happened and where. */
#ifndef KQ_VMM_KVM_STATS_H
#define KQ_VMM_KVM_STATS_H

#include <stddef.h>
#include <stdint.h>

struct kq_kvm_stats {
	int fd;
	uint32_t ndesc;
	char *names; /* ndesc NUL-terminated names, name_size + 1 bytes apart */
	uint32_t name_size;
	uint32_t *offsets; /* data offsets of each counter's first value */
	uint64_t data_offset;
};

/* Opens the stats of a VM or vCPU fd; -1 with kq_err() (unavailable when the
 * kernel lacks KVM_CAP_BINARY_STATS_FD). */
int kq_kvm_stats_open(struct kq_kvm_stats *s, int kvm_obj_fd);
void kq_kvm_stats_close(struct kq_kvm_stats *s);
/* One counter; name points into the kq_kvm_stats it was read from. */
struct kq_kvm_stat {
	const char *name;
	uint64_t value;
};

/* Current values of every scalar counter, in descriptor order (two reads of
 * one kq_kvm_stats list the same counters in the same order): a malloc'd
 * array of *n entries, or NULL with kq_err(). */
struct kq_kvm_stat *kq_kvm_stats_read(const struct kq_kvm_stats *s, size_t *n);

#endif
