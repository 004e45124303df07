/* A VM's memory slots as data: add, delete, move and resize slots of guest
 * RAM at any guest-physical address with any backing, and the guest page
 * tables that map them. Included by vmm/vm.h. */
#ifndef KQ_VMM_SLOTS_H
#define KQ_VMM_SLOTS_H

#include <linux/kvm.h>
#include <stdint.h>

#include "vmm/memory.h"

struct kq_vm;
enum kq_pagesz { KQ_PG_4K, KQ_PG_2M, KQ_PG_1G };

/* Slot flags: KVM's own bits. */
#define KQ_SLOT_LOG_DIRTY KVM_MEM_LOG_DIRTY_PAGES
#define KQ_SLOT_READONLY  KVM_MEM_READONLY

struct kq_slot_info {
	int id; /* KVM's slot number */
	uint64_t gpa, size;
	uint32_t flags;
	uint8_t *host; /* the backing, as given to KVM */
	enum kq_backing backing;
	int memfd; /* -1 unless memfd-backed */
	char name[32];
};

/* Adds a slot of size bytes at gpa (both 4K-aligned) backed by fresh memory
 * of kind backing; returns its id (>= 0), or -1 naming the overlap, the
 * KVM_CAP_NR_MEMSLOTS limit or the ioctl. */
int kq_vm_slot_add(struct kq_vm *vm, const char *name, uint64_t gpa, uint64_t size,
		   enum kq_backing backing, uint32_t flags);
/* Same with memory the caller allocated; the slot owns it on success (*mem is
 * then emptied) and frees it when deleted. */
int kq_vm_slot_add_mem(struct kq_vm *vm, const char *name, uint64_t gpa, struct kq_mem *mem,
		       uint32_t flags);
/* Removes the slot from KVM and frees its memory. */
int kq_vm_slot_delete(struct kq_vm *vm, int id);
/* Moves the slot to new_gpa (KVM: delete, then add again); contents stay. */
int kq_vm_slot_move(struct kq_vm *vm, int id, uint64_t new_gpa);
/* Gives the slot new_size bytes of fresh memory of the same backing, the
 * common part copied (KVM: delete, then add again). */
int kq_vm_slot_resize(struct kq_vm *vm, int id, uint64_t new_size);
/* Changes flags in place; KVM allows only KQ_SLOT_LOG_DIRTY to change. */
int kq_vm_slot_set_flags(struct kq_vm *vm, int id, uint32_t flags);
/* The slot holding gpa, or -1 (error set). */
int kq_vm_slot_find(struct kq_vm *vm, uint64_t gpa);
int kq_vm_slot_info(struct kq_vm *vm, int id, struct kq_slot_info *out);
/* Iteration: the first slot id above `after` (start with -1), or -1 at the end. */
int kq_vm_slot_next(struct kq_vm *vm, int after);
/* KVM_CAP_NR_MEMSLOTS of this VM. */
int kq_vm_max_slots(const struct kq_vm *vm);
/* Binds the slot's memory to NUMA node `node` (mbind MPOL_BIND, pages moved);
 * unavailable when the node does not exist. */
int kq_vm_slot_bind_node(struct kq_vm *vm, int id, int node);

/* Host address of [gpa, gpa + len) inside one slot, or NULL. Valid until that
 * slot is deleted, moved or resized. */
void *kq_vm_gpa_to_hva(struct kq_vm *vm, uint64_t gpa, uint64_t len);
/* Copies into / out of guest memory; writes count as dirty (kq_vm_mark_dirty). */
int kq_vm_write(struct kq_vm *vm, uint64_t gpa, const void *src, uint64_t len);
int kq_vm_read(struct kq_vm *vm, uint64_t gpa, void *dst, uint64_t len);

/* Guest page tables (identity: guest virtual = guest physical). Maps
 * [gpa, gpa + size) with pages of page_size; 1G only when
 * KVM_GET_SUPPORTED_CPUID offers pdpe1gb (else unavailable). The range need
 * not be backed: an access to no slot is an MMIO exit. */
int kq_vm_map(struct kq_vm *vm, uint64_t gpa, uint64_t size, enum kq_pagesz page_size);
/* Unmaps [gpa, gpa + size); a running guest must INVLPG to notice. */
int kq_vm_unmap(struct kq_vm *vm, uint64_t gpa, uint64_t size);
/* Walks the guest page tables: 0 with the GPA and page size, -1 when unmapped. */
int kq_vm_translate(struct kq_vm *vm, uint64_t gva, uint64_t *gpa, uint64_t *page_size);
/* Bytes of guest memory the page tables take. */
uint64_t kq_vm_pt_bytes(struct kq_vm *vm);

#endif
