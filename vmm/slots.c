/* The slot table: every memslot of the VM, the two of the config included,
 * is an entry here; KVM learns of changes through
 * KVM_SET_USER_MEMORY_REGION (size 0 deletes). Readers (gpa_to_hva from vCPU
 * threads) take the read lock, changes the write lock. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"

#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int set_region(struct kq_vm *vm, int id, uint64_t gpa, uint64_t size, void *host,
		      uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)id,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uintptr_t)host,
	};
	if (KQ_IOCTL(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return kq_err_errno("ioctl KVM_SET_USER_MEMORY_REGION slot %d [0x%llx, +0x%llx) "
				    "flags 0x%x",
				    id, (unsigned long long)gpa, (unsigned long long)size, flags);
	return 0;
}

static struct kq_slot *slot_get(struct kq_vm *vm, int id)
{
	if (id < 0 || id >= vm->slots_cap || !vm->slots[id].used) {
		kq_err_set("memslot %d does not exist", id);
		return NULL;
	}
	return &vm->slots[id];
}

/* An existing slot other than `except` that intersects [gpa, gpa + size). */
static int find_overlap(struct kq_vm *vm, uint64_t gpa, uint64_t size, int except)
{
	for (int i = 0; i < vm->slots_cap; i++) {
		struct kq_slot *s = &vm->slots[i];
		if (s->used && i != except && gpa < s->gpa + s->mem.size && s->gpa < gpa + size)
			return i;
	}
	return -1;
}

static int check_place(struct kq_vm *vm, const char *name, uint64_t gpa, uint64_t size, int except)
{
	if (gpa % KQ_PAGE_4K || size % KQ_PAGE_4K || !size)
		return kq_err_set("memslot '%s' [0x%llx, +0x%llx): address and size must be "
				  "non-zero multiples of 4 KiB",
				  name, (unsigned long long)gpa, (unsigned long long)size);
	if (gpa + size < gpa || gpa + size > (1ULL << 52))
		return kq_err_set("memslot '%s' [0x%llx, +0x%llx): beyond the 52-bit "
				  "guest-physical space",
				  name, (unsigned long long)gpa, (unsigned long long)size);
	int o = find_overlap(vm, gpa, size, except);
	if (o >= 0) {
		struct kq_slot *s = &vm->slots[o];
		return kq_err_set("memslot '%s' [0x%llx, 0x%llx) overlaps slot %d '%s' "
				  "[0x%llx, 0x%llx)",
				  name, (unsigned long long)gpa, (unsigned long long)(gpa + size),
				  o, s->name, (unsigned long long)s->gpa,
				  (unsigned long long)(s->gpa + s->mem.size));
	}
	return 0;
}

/* The lowest free id, growing the table; -1 at KVM_CAP_NR_MEMSLOTS. */
static int free_id(struct kq_vm *vm, const char *name)
{
	for (int i = 0; i < vm->slots_cap; i++)
		if (!vm->slots[i].used)
			return i;
	if (vm->slots_cap >= vm->max_slots)
		return kq_err_set("memslot '%s': all %d slots in use (KVM_CAP_NR_MEMSLOTS)", name,
				  vm->max_slots);
	int cap = vm->slots_cap ? vm->slots_cap * 2 : 8;
	if (cap > vm->max_slots)
		cap = vm->max_slots;
	struct kq_slot *n = realloc(vm->slots, (size_t)cap * sizeof(*n));
	if (!n)
		return kq_err_set("out of memory for %d memslots", cap);
	memset(n + vm->slots_cap, 0, (size_t)(cap - vm->slots_cap) * sizeof(*n));
	vm->slots = n;
	int id = vm->slots_cap;
	vm->slots_cap = cap;
	return id;
}

int kq_vm_slot_add_mem(struct kq_vm *vm, const char *name, uint64_t gpa, struct kq_mem *mem,
		       uint32_t flags)
{
	if (flags & ~(uint32_t)(KQ_SLOT_LOG_DIRTY | KQ_SLOT_READONLY))
		return kq_err_set("memslot '%s': unknown flags 0x%x", name, flags);
	pthread_rwlock_wrlock(&vm->slots_lock);
	int id = -1;
	if (check_place(vm, name, gpa, mem->size, -1) < 0 || (id = free_id(vm, name)) < 0)
		goto out;
	struct kq_slot *s = &vm->slots[id];
	memset(s, 0, sizeof(*s));
	s->gpa = gpa;
	s->flags = flags;
	s->mem = *mem;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (kq_dirty_slot_init(vm, s) < 0 ||
	    set_region(vm, id, gpa, mem->size, mem->host, flags) < 0) {
		kq_dirty_slot_free(s);
		memset(s, 0, sizeof(*s));
		id = -1;
		goto out;
	}
	s->used = true;
	/* A forked child gets no copy of guest RAM (as QEMU does): cheaper forks,
	 * and no child can write a parent's guest by accident. */
	if (mem->map)
		madvise(mem->map, mem->map_size, MADV_DONTFORK);
	memset(mem, 0, sizeof(*mem));
	mem->memfd = -1;
out:
	pthread_rwlock_unlock(&vm->slots_lock);
	return id;
}

int kq_vm_slot_add(struct kq_vm *vm, const char *name, uint64_t gpa, uint64_t size,
		   enum kq_backing backing, uint32_t flags)
{
	struct kq_mem m;
	if (kq_mem_alloc(&m, size, backing) < 0)
		return -1;
	int id = kq_vm_slot_add_mem(vm, name, gpa, &m, flags);
	if (id < 0) {
		int unavailable = kq_err_is_unavailable();
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", kq_err());
		kq_mem_free(&m);
		return unavailable ? kq_err_unavailable("%s", msg) : kq_err_set("%s", msg);
	}
	return id;
}

/* Takes the slot out of KVM; with the write lock held. */
static int unregister(struct kq_vm *vm, int id, struct kq_slot *s)
{
	/* Dirty pages KVM knows of are kept in the slot's own bitmap first. */
	if (kq_dirty_slot_fetch(vm, id) < 0)
		return -1;
	return set_region(vm, id, s->gpa, 0, s->mem.host, s->flags);
}

int kq_vm_slot_delete(struct kq_vm *vm, int id)
{
	pthread_rwlock_wrlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	int r = -1;
	if (s && set_region(vm, id, s->gpa, 0, s->mem.host, s->flags) == 0) {
		kq_dirty_slot_free(s);
		kq_mem_free(&s->mem);
		memset(s, 0, sizeof(*s));
		if (id == vm->test_slot)
			vm->test_slot = -1;
		r = 0;
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

int kq_vm_slot_move(struct kq_vm *vm, int id, uint64_t new_gpa)
{
	pthread_rwlock_wrlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	int r = -1;
	if (!s || check_place(vm, s->name, new_gpa, s->mem.size, id) < 0 ||
	    unregister(vm, id, s) < 0)
		goto out;
	if (set_region(vm, id, new_gpa, s->mem.size, s->mem.host, s->flags) < 0) {
		/* Put it back where it was, so the table still says what KVM has. */
		if (set_region(vm, id, s->gpa, s->mem.size, s->mem.host, s->flags) < 0)
			s->used = false;
		goto out;
	}
	s->gpa = new_gpa;
	r = 0;
out:
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

int kq_vm_slot_resize(struct kq_vm *vm, int id, uint64_t new_size)
{
	pthread_rwlock_wrlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	struct kq_mem m = {.memfd = -1};
	int r = -1;
	if (!s || check_place(vm, s->name, s->gpa, new_size, id) < 0 ||
	    kq_mem_alloc(&m, new_size, s->mem.backing) < 0)
		goto out;
	memcpy(m.host, s->mem.host, m.size < s->mem.size ? m.size : s->mem.size);
	if (unregister(vm, id, s) < 0)
		goto out;
	if (set_region(vm, id, s->gpa, m.size, m.host, s->flags) < 0) {
		if (set_region(vm, id, s->gpa, s->mem.size, s->mem.host, s->flags) < 0)
			s->used = false;
		goto out;
	}
	if (m.map)
		madvise(m.map, m.map_size, MADV_DONTFORK);
	kq_mem_free(&s->mem);
	s->mem = m;
	m.map = NULL;
	m.memfd = -1;
	r = kq_dirty_slot_resized(vm, s);
out:
	kq_mem_free(&m);
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

int kq_vm_slot_set_flags(struct kq_vm *vm, int id, uint32_t flags)
{
	pthread_rwlock_wrlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	int r = -1;
	if (s && (flags ^ s->flags) & ~(uint32_t)KQ_SLOT_LOG_DIRTY)
		kq_err_set("memslot %d '%s': only KVM_MEM_LOG_DIRTY_PAGES can change in place "
			   "(0x%x to 0x%x)",
			   id, s->name, s->flags, flags);
	else if (s && kq_dirty_slot_fetch(vm, id) == 0 &&
		 set_region(vm, id, s->gpa, s->mem.size, s->mem.host, flags) == 0) {
		s->flags = flags;
		r = kq_dirty_slot_init(vm, s);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

/* With the lock held. */
static int find_locked(struct kq_vm *vm, uint64_t gpa)
{
	for (int i = 0; i < vm->slots_cap; i++) {
		struct kq_slot *s = &vm->slots[i];
		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->mem.size)
			return i;
	}
	return -1;
}

int kq_vm_slot_find(struct kq_vm *vm, uint64_t gpa)
{
	pthread_rwlock_rdlock(&vm->slots_lock);
	int id = find_locked(vm, gpa);
	pthread_rwlock_unlock(&vm->slots_lock);
	if (id < 0)
		kq_err_set("no memslot holds guest-physical 0x%llx", (unsigned long long)gpa);
	return id;
}

int kq_vm_slot_info(struct kq_vm *vm, int id, struct kq_slot_info *out)
{
	pthread_rwlock_rdlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	if (s) {
		*out = (struct kq_slot_info){.id = id,
					     .gpa = s->gpa,
					     .size = s->mem.size,
					     .flags = s->flags,
					     .host = s->mem.host,
					     .backing = s->mem.backing,
					     .memfd = s->mem.memfd};
		snprintf(out->name, sizeof(out->name), "%s", s->name);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return s ? 0 : -1;
}

int kq_vm_slot_next(struct kq_vm *vm, int after)
{
	pthread_rwlock_rdlock(&vm->slots_lock);
	int id = -1;
	for (int i = after < 0 ? 0 : after + 1; i < vm->slots_cap && id < 0; i++)
		if (vm->slots[i].used)
			id = i;
	pthread_rwlock_unlock(&vm->slots_lock);
	return id;
}

int kq_vm_max_slots(const struct kq_vm *vm)
{
	return vm->max_slots;
}

int kq_vm_slot_bind_node(struct kq_vm *vm, int id, int node)
{
	char path[64];
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	if (node < 0 || node >= 1024 || access(path, F_OK) != 0)
		return kq_err_unavailable("NUMA node %d: not present on this host (%s)", node,
					  path);
	unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {0};
	mask[node / (8 * sizeof(unsigned long))] |= 1UL << (node % (8 * sizeof(unsigned long)));
	pthread_rwlock_rdlock(&vm->slots_lock);
	struct kq_slot *s = slot_get(vm, id);
	int r = -1;
	if (s && syscall(SYS_mbind, s->mem.host, s->mem.size, MPOL_BIND, mask, 1024UL,
			 MPOL_MF_MOVE | MPOL_MF_STRICT) != 0)
		kq_err_errno("mbind slot %d '%s' to node %d", id, s->name, node);
	else if (s)
		r = 0;
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

void *kq_vm_gpa_to_hva(struct kq_vm *vm, uint64_t gpa, uint64_t len)
{
	void *p = NULL;
	pthread_rwlock_rdlock(&vm->slots_lock);
	int id = find_locked(vm, gpa);
	if (id >= 0) {
		struct kq_slot *s = &vm->slots[id];
		if (gpa + len >= gpa && gpa + len - s->gpa <= s->mem.size)
			p = s->mem.host + (gpa - s->gpa);
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return p;
}

int kq_vm_write(struct kq_vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = kq_vm_gpa_to_hva(vm, gpa, len);
	if (!p)
		return kq_err_set("write [0x%llx, +0x%llx): not inside one memslot",
				  (unsigned long long)gpa, (unsigned long long)len);
	memcpy(p, src, len);
	kq_vm_mark_dirty(vm, gpa, len);
	return 0;
}

int kq_vm_read(struct kq_vm *vm, uint64_t gpa, void *dst, uint64_t len)
{
	void *p = kq_vm_gpa_to_hva(vm, gpa, len);
	if (!p)
		return kq_err_set("read [0x%llx, +0x%llx): not inside one memslot",
				  (unsigned long long)gpa, (unsigned long long)len);
	memcpy(dst, p, len);
	return 0;
}

void kq_slots_destroy(struct kq_vm *vm)
{
	for (int i = 0; i < vm->slots_cap; i++)
		if (vm->slots[i].used) {
			kq_dirty_slot_free(&vm->slots[i]);
			kq_mem_free(&vm->slots[i].mem);
		}
	free(vm->slots);
	vm->slots = NULL;
	vm->slots_cap = 0;
}
