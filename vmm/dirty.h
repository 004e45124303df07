/* Dirty-page tracking behind one iterator per slot, whichever mechanism the
 * VM uses: KVM_GET_DIRTY_LOG, the same with KVM_CLEAR_DIRTY_LOG (manual
 * protect, initially set when offered), or the per-vCPU dirty rings. The
 * vmm's own writes into guest memory are merged in. Included by vmm/vm.h.
 *
 * Tracked: slots with KQ_SLOT_LOG_DIRTY in a VM whose mode is not NONE (the
 * slots of the config, page tables included, get the flag then). */
#ifndef KQ_VMM_DIRTY_H
#define KQ_VMM_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

struct kq_vm;

enum kq_dirty_mode {
	KQ_DIRTY_NONE,		/* no tracking (the default) */
	KQ_DIRTY_AUTO,		/* the best the host offers: ring, manual, bitmap */
	KQ_DIRTY_BITMAP,	/* KVM_GET_DIRTY_LOG (gets, clears and re-protects) */
	KQ_DIRTY_BITMAP_MANUAL, /* + KVM_CLEAR_DIRTY_LOG (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2) */
	KQ_DIRTY_RING,		/* KVM_CAP_DIRTY_LOG_RING(_ACQ_REL) */
};

const char *kq_dirty_mode_name(enum kq_dirty_mode m);
/* "none", "auto", "bitmap", "bitmap-manual", "ring"; -1 when unknown. */
int kq_dirty_mode_parse(const char *s);
/* The mechanism in use (never AUTO). */
enum kq_dirty_mode kq_vm_dirty_mode(const struct kq_vm *vm);
/* Manual protect with KVM_DIRTY_LOG_INITIALLY_SET: a new slot starts all dirty. */
bool kq_vm_dirty_initially_set(const struct kq_vm *vm);
/* Records that the vmm wrote [gpa, gpa + len) (a no-op outside tracked slots).
 * Every writer of the vmm calls it; so must a caller writing through a host
 * pointer it got from kq_vm_gpa_to_hva. Thread-safe. */
void kq_vm_mark_dirty(struct kq_vm *vm, uint64_t gpa, uint64_t len);

/* What the VM's dirty tracking cost so far (monotonic ns, the ioctls alone)
 * and did; cumulative from creation, for measurements (memory.dirty-log) and
 * as evidence when a collection disagrees with what the guest wrote. */
struct kq_dirty_stats {
	uint64_t get_calls, get_ns;	/* KVM_GET_DIRTY_LOG */
	uint64_t clear_calls, clear_ns; /* KVM_CLEAR_DIRTY_LOG (manual protect) */
	uint64_t harvests, harvest_ns;	/* ring passes over every vCPU's ring */
	uint64_t harvested;		/* ring entries taken */
	uint64_t foreign;		/* of those, naming no tracked slot or past its end */
	uint64_t resets, reset_ns;	/* KVM_RESET_DIRTY_RINGS */
	uint64_t ring_full;		/* KVM_EXIT_DIRTY_RING_FULL handled */
	uint64_t ring_full_idle;	/* of those, with the entries already taken elsewhere */
};
void kq_vm_dirty_stats(struct kq_vm *vm, struct kq_dirty_stats *out);

struct kq_dirty_iter {
	uint64_t *bits; /* one bit per 4 KiB page of the slot, owned */
	uint64_t npages;
	uint64_t gpa; /* of the slot at collection */
	uint64_t pos;
};
/* Collects slot id's pages dirtied since its last collection (from KVM, which
 * write-protects them again, and from kq_vm_mark_dirty) and starts iterating.
 * Fails for a slot that is not tracked. */
int kq_dirty_begin(struct kq_vm *vm, int id, struct kq_dirty_iter *it);
/* The next dirty page's guest-physical address; false at the end. */
bool kq_dirty_next(struct kq_dirty_iter *it, uint64_t *gpa);
void kq_dirty_end(struct kq_dirty_iter *it);

#endif
