/* Host helpers the isolation tests share: memory shared with forked
 * children (their results come back through it), random tags, the table
 * page guests read their instructions from, and VM set-up boilerplate. */
#ifndef KQ_ISO_COMMON_H
#define KQ_ISO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/test.h"
#include "vmm/vm.h"

/* Guest-physical table the host fills for a guest and the guest answers in:
 * in the system slot, between the IDT and the guest image (vmm/layout.h).
 * The host passes its address in args[0]. */
#define KQ_ISO_TABLE_GPA 0x10000ULL
#define KQ_ISO_TABLE_MAX 0xe0000ULL

/* Zeroed MAP_SHARED anonymous memory: written by a forked child, read by
 * the parent. NULL with a message in err. */
void *kq_iso_shared(size_t n, char *err, size_t errlen);
void kq_iso_shared_free(void *p, size_t n);

/* 64 random bits (getrandom); never 0 and never all ones. */
uint64_t kq_iso_random_u64(void);

bool kq_iso_emulated(const struct kq_run_opts *o);

/* Host view of the table area of a VM (KQ_ISO_TABLE_GPA, len bytes). */
void *kq_iso_table(struct kq_vm *vm, size_t len);

/* A one-vCPU VM for guest workload `workload`, no test memory, table
 * address in args[0]; the watchdog a little inside time_limit_s. */
struct kq_vm_config kq_iso_config(const char *workload, double time_limit_s);

/* Records a vmm error as SKIP (the host lacks something) or FAIL. */
void kq_iso_vmm_error(struct kq_result *res, const char *what);

/* Slot memory with one page of `tag` words on each side in the host's own
 * address space: a guest that ever reads past the slot would read the tag.
 * Anonymous, THP off. -1 with a vmm error. */
int kq_iso_mem_with_guards(struct kq_mem *m, uint64_t size, uint64_t tag);

#endif
