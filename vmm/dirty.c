/* Dirty tracking. Each tracked slot keeps a pending bitmap: what KVM reported
 * (log or rings) and what the vmm wrote, not yet handed to a caller.
 * Lock order: slots_lock, then dirty_lock. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const mode_names[] = {"none", "auto", "bitmap", "bitmap-manual", "ring"};

const char *kq_dirty_mode_name(enum kq_dirty_mode m)
{
	return (unsigned)m < 5 ? mode_names[m] : "?";
}

int kq_dirty_mode_parse(const char *s)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

enum kq_dirty_mode kq_vm_dirty_mode(const struct kq_vm *vm)
{
	return vm->dirty_mode;
}

bool kq_vm_dirty_initially_set(const struct kq_vm *vm)
{
	return vm->dirty_init_set;
}

void kq_vm_dirty_stats(struct kq_vm *vm, struct kq_dirty_stats *out)
{
	pthread_mutex_lock(&vm->dirty_lock);
	*out = vm->dirty_stats;
	pthread_mutex_unlock(&vm->dirty_lock);
}

static uint64_t slot_words(const struct kq_slot *s)
{
	return (s->mem.size / KQ_PAGE_4K + 63) / 64;
}

static bool tracked(const struct kq_vm *vm, const struct kq_slot *s)
{
	return vm->dirty_mode != KQ_DIRTY_NONE && (s->flags & KQ_SLOT_LOG_DIRTY);
}

static int enable_cap(struct kq_vm *vm, uint32_t cap, uint64_t arg, const char *name)
{
	struct kvm_enable_cap c = {.cap = cap, .args = {arg}};
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &c) < 0)
		return kq_err_errno("ioctl KVM_ENABLE_CAP(%s, 0x%llx)", name,
				    (unsigned long long)arg);
	return 0;
}

static int setup_manual(struct kq_vm *vm)
{
	int cap = KQ_KVM_CHECK(vm->fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	if (cap < 0)
		return -1;
	if (cap == 0)
		return kq_err_unavailable("dirty log manual protect: "
					  "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 absent");
	uint64_t flags =
	    KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | ((uint64_t)cap & KVM_DIRTY_LOG_INITIALLY_SET);
	if (enable_cap(vm, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, flags,
		       "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2") < 0)
		return -1;
	vm->dirty_init_set = flags & KVM_DIRTY_LOG_INITIALLY_SET;
	return 0;
}

static int setup_ring(struct kq_vm *vm, uint32_t entries)
{
	int acq = KQ_KVM_CHECK(vm->fd, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
	int plain = KQ_KVM_CHECK(vm->fd, KVM_CAP_DIRTY_LOG_RING);
	if (acq < 0 || plain < 0)
		return -1;
	if (acq <= 0 && plain <= 0)
		return kq_err_unavailable("dirty ring: neither KVM_CAP_DIRTY_LOG_RING_ACQ_REL nor "
					  "KVM_CAP_DIRTY_LOG_RING offered");
	uint64_t max = (uint64_t)(acq > 0 ? acq : plain);
	uint64_t bytes = (uint64_t)entries * sizeof(struct kvm_dirty_gfn);
	if (!entries || (entries & (entries - 1)) || bytes > max)
		return kq_err_set("dirty_ring_entries = %u: must be a power of two of at most "
				  "%llu entries",
				  entries,
				  (unsigned long long)(max / sizeof(struct kvm_dirty_gfn)));
	/* Both capabilities use the same protocol; with ACQ_REL the kernel relies
	 * on our acquire/release ordering, which we keep either way. */
	if (acq > 0 ? enable_cap(vm, KVM_CAP_DIRTY_LOG_RING_ACQ_REL, bytes,
				 "KVM_CAP_DIRTY_LOG_RING_ACQ_REL")
		    : enable_cap(vm, KVM_CAP_DIRTY_LOG_RING, bytes, "KVM_CAP_DIRTY_LOG_RING"))
		return -1;
	vm->ring_entries = entries;
	return 0;
}

int kq_dirty_setup(struct kq_vm *vm)
{
	enum kq_dirty_mode m = vm->cfg.dirty;
	uint32_t entries = vm->cfg.dirty_ring_entries ? vm->cfg.dirty_ring_entries : 4096;
	if (m == KQ_DIRTY_AUTO) {
		int acq = KQ_KVM_CHECK(vm->fd, KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
		int ring = KQ_KVM_CHECK(vm->fd, KVM_CAP_DIRTY_LOG_RING);
		int man = KQ_KVM_CHECK(vm->fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
		m = acq > 0 || ring > 0 ? KQ_DIRTY_RING
		    : man > 0		? KQ_DIRTY_BITMAP_MANUAL
					: KQ_DIRTY_BITMAP;
	}
	int r = 0;
	if (m == KQ_DIRTY_BITMAP_MANUAL)
		r = setup_manual(vm);
	else if (m == KQ_DIRTY_RING)
		r = setup_ring(vm, entries);
	else if (m != KQ_DIRTY_NONE && m != KQ_DIRTY_BITMAP)
		r = kq_err_set("dirty tracking mode %d: unknown", (int)m);
	if (r < 0)
		return -1;
	vm->dirty_mode = m;
	vm->slot_flags = m == KQ_DIRTY_NONE ? 0 : KQ_SLOT_LOG_DIRTY;
	return 0;
}

int kq_dirty_vcpu_init(struct kq_vm *vm, struct kq_vcpu *v)
{
	if (vm->dirty_mode != KQ_DIRTY_RING)
		return 0;
	size_t bytes = (size_t)vm->ring_entries * sizeof(struct kvm_dirty_gfn);
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd,
		       (off_t)KVM_DIRTY_LOG_PAGE_OFFSET * page);
	if (p == MAP_FAILED)
		return kq_err_errno("mmap dirty ring of vCPU %d (%zu bytes at page offset %d)",
				    v->index, bytes, KVM_DIRTY_LOG_PAGE_OFFSET);
	v->ring = p;
	v->ring_fetch = 0;
	return 0;
}

void kq_dirty_vcpu_destroy(struct kq_vm *vm, struct kq_vcpu *v)
{
	if (v->ring)
		munmap(v->ring, (size_t)vm->ring_entries * sizeof(struct kvm_dirty_gfn));
	v->ring = NULL;
}

int kq_dirty_slot_init(struct kq_vm *vm, struct kq_slot *s)
{
	if (!tracked(vm, s) || s->dirty)
		return 0;
	s->dirty = calloc(slot_words(s), sizeof(uint64_t));
	if (!s->dirty)
		return kq_err_set("out of memory for the dirty bitmap of slot '%s'", s->name);
	s->dirty_words = slot_words(s);
	return 0;
}

void kq_dirty_slot_free(struct kq_slot *s)
{
	free(s->dirty);
	s->dirty = NULL;
	s->dirty_words = 0;
}

int kq_dirty_slot_resized(struct kq_vm *vm, struct kq_slot *s)
{
	if (!s->dirty)
		return 0;
	uint64_t words = slot_words(s);
	uint64_t *n = calloc(words, sizeof(uint64_t));
	if (!n)
		return kq_err_set("out of memory for the dirty bitmap of slot '%s'", s->name);
	pthread_mutex_lock(&vm->dirty_lock);
	memcpy(n, s->dirty, (words < s->dirty_words ? words : s->dirty_words) * 8);
	uint64_t npages = s->mem.size / KQ_PAGE_4K;
	if (npages % 64)
		n[words - 1] &= (1ULL << (npages % 64)) - 1;
	free(s->dirty);
	s->dirty = n;
	s->dirty_words = words;
	pthread_mutex_unlock(&vm->dirty_lock);
	return 0;
}

/* Takes every dirty ring's entries into the slots' bitmaps; with the slots
 * lock held (read or write). Each entry is read with acquire after seeing
 * its DIRTY flag and given back with release, as the ring protocol wants.
 * Other vCPUs may be running and pushing to their rings meanwhile: an entry
 * not yet flagged DIRTY is simply left for the next harvest, and
 * KVM_RESET_DIRTY_RINGS only recycles entries flagged RESET. */
static int harvest_rings(struct kq_vm *vm)
{
	uint64_t n = 0, foreign = 0;
	pthread_mutex_lock(&vm->dirty_lock);
	uint64_t t0 = kq_now_ns();
	for (int i = 0; i < vm->nvcpus; i++) {
		struct kq_vcpu *v = &vm->vcpus[i];
		for (uint32_t k = 0; v->ring && k < vm->ring_entries; k++) {
			struct kvm_dirty_gfn *e = &v->ring[v->ring_fetch & (vm->ring_entries - 1)];
			if (!(__atomic_load_n(&e->flags, __ATOMIC_ACQUIRE) & KVM_DIRTY_GFN_F_DIRTY))
				break;
			uint32_t as = e->slot >> 16, id = e->slot & 0xffff;
			struct kq_slot *s =
			    as == 0 && id < (uint32_t)vm->slots_cap ? &vm->slots[id] : NULL;
			if (s && s->used && s->dirty && e->offset < s->mem.size / KQ_PAGE_4K)
				s->dirty[e->offset / 64] |= 1ULL << (e->offset % 64);
			else
				foreign++;
			__atomic_store_n(&e->flags, KVM_DIRTY_GFN_F_RESET, __ATOMIC_RELEASE);
			v->ring_fetch++;
			n++;
		}
	}
	uint64_t t1 = kq_now_ns();
	struct kq_dirty_stats *st = &vm->dirty_stats;
	st->harvests++;
	st->harvest_ns += t1 - t0;
	st->harvested += n;
	st->foreign += foreign;
	int r = 0;
	if (n) {
		r = KQ_IOCTL(vm->fd, KVM_RESET_DIRTY_RINGS, NULL) < 0 ? -1 : 0;
		st->resets++;
		st->reset_ns += kq_now_ns() - t1;
	}
	pthread_mutex_unlock(&vm->dirty_lock);
	return r;
}

int kq_dirty_ring_full(struct kq_vm *vm, struct kq_vcpu *v)
{
	pthread_rwlock_rdlock(&vm->slots_lock);
	uint32_t before = v->ring_fetch;
	int r = harvest_rings(vm);
	pthread_rwlock_unlock(&vm->slots_lock);
	pthread_mutex_lock(&vm->dirty_lock);
	vm->dirty_stats.ring_full++;
	bool idle = r == 0 && v->ring && v->ring_fetch == before;
	/* Nothing of v's to take: another vCPU's thread (or a collection) may
	 * have harvested v's entries and reset the rings after KVM filled v's
	 * ring and before this thread got here. Then KVM finds room when v runs
	 * again. Only a second full exit with no entry taken in between means
	 * KVM pushed past the end of the ring, so that its reset index no longer
	 * meets ours. */
	bool stuck = idle && v->ring_full_idle && v->ring_full_fetch == v->ring_fetch;
	if (idle) {
		vm->dirty_stats.ring_full_idle++;
		v->ring_full_idle = true;
		v->ring_full_fetch = v->ring_fetch;
	} else {
		v->ring_full_idle = false;
	}
	pthread_mutex_unlock(&vm->dirty_lock);
	if (stuck) {
		int flagged = 0;
		for (uint32_t k = 0; k < vm->ring_entries; k++)
			flagged += __atomic_load_n(&v->ring[k].flags, __ATOMIC_ACQUIRE) != 0;
		return kq_err_set("KVM_EXIT_DIRTY_RING_FULL twice with no dirty entry at ring "
				  "index %u (%d of %u entries flagged elsewhere): the host "
				  "overflowed the ring",
				  v->ring_fetch, flagged, vm->ring_entries);
	}
	return r;
}

/* KVM's log of slot id into its pending bitmap; with the slots lock held. */
static int fetch_log(struct kq_vm *vm, int id, struct kq_slot *s)
{
	uint64_t words = slot_words(s);
	uint64_t *tmp = calloc(words, sizeof(uint64_t));
	if (!tmp)
		return kq_err_set("out of memory for a dirty log");
	struct kvm_dirty_log log = {.slot = (uint32_t)id, .dirty_bitmap = tmp};
	int r = -1;
	uint64_t t0 = kq_now_ns();
	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log) < 0) {
		kq_err_errno("ioctl KVM_GET_DIRTY_LOG slot %d '%s'", id, s->name);
		goto out;
	}
	uint64_t t1 = kq_now_ns(), t2 = t1;
	bool cleared = false;
	bool any = false;
	for (uint64_t w = 0; w < words && !any; w++)
		any = tmp[w] != 0;
	if (any && vm->dirty_mode == KQ_DIRTY_BITMAP_MANUAL) {
		struct kvm_clear_dirty_log c = {.slot = (uint32_t)id,
						.num_pages = (uint32_t)(s->mem.size / KQ_PAGE_4K),
						.first_page = 0,
						.dirty_bitmap = tmp};
		if (ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &c) < 0) {
			kq_err_errno("ioctl KVM_CLEAR_DIRTY_LOG slot %d '%s'", id, s->name);
			goto out;
		}
		t2 = kq_now_ns();
		cleared = true;
	}
	pthread_mutex_lock(&vm->dirty_lock);
	vm->dirty_stats.get_calls++;
	vm->dirty_stats.get_ns += t1 - t0;
	if (cleared) {
		vm->dirty_stats.clear_calls++;
		vm->dirty_stats.clear_ns += t2 - t1;
	}
	for (uint64_t w = 0; w < words; w++)
		s->dirty[w] |= tmp[w];
	pthread_mutex_unlock(&vm->dirty_lock);
	r = 0;
out:
	free(tmp);
	return r;
}

int kq_dirty_slot_fetch(struct kq_vm *vm, int id)
{
	struct kq_slot *s = &vm->slots[id];
	/* A slot whose logging was turned off keeps its pending pages (and the
	 * vmm's writes), but KVM has no log of it: KVM_GET_DIRTY_LOG would fail. */
	if (!s->used || !s->dirty || !(s->flags & KQ_SLOT_LOG_DIRTY))
		return 0;
	return vm->dirty_mode == KQ_DIRTY_RING ? harvest_rings(vm) : fetch_log(vm, id, s);
}

void kq_vm_mark_dirty(struct kq_vm *vm, uint64_t gpa, uint64_t len)
{
	if (vm->dirty_mode == KQ_DIRTY_NONE || !len)
		return;
	pthread_rwlock_rdlock(&vm->slots_lock);
	pthread_mutex_lock(&vm->dirty_lock);
	for (int i = 0; i < vm->slots_cap; i++) {
		struct kq_slot *s = &vm->slots[i];
		if (!s->used || !s->dirty)
			continue;
		uint64_t lo = gpa > s->gpa ? gpa : s->gpa;
		uint64_t hi = gpa + len < s->gpa + s->mem.size ? gpa + len : s->gpa + s->mem.size;
		for (uint64_t a = lo & ~(KQ_PAGE_4K - 1); a < hi; a += KQ_PAGE_4K) {
			uint64_t pg = (a - s->gpa) / KQ_PAGE_4K;
			s->dirty[pg / 64] |= 1ULL << (pg % 64);
		}
	}
	pthread_mutex_unlock(&vm->dirty_lock);
	pthread_rwlock_unlock(&vm->slots_lock);
}

int kq_dirty_begin(struct kq_vm *vm, int id, struct kq_dirty_iter *it)
{
	memset(it, 0, sizeof(*it));
	pthread_rwlock_rdlock(&vm->slots_lock);
	int r = -1;
	struct kq_slot *s = id >= 0 && id < vm->slots_cap ? &vm->slots[id] : NULL;
	if (!s || !s->used)
		kq_err_set("dirty pages of memslot %d: no such slot", id);
	else if (!s->dirty)
		kq_err_set("dirty pages of memslot %d '%s': not tracked (dirty mode %s, flags "
			   "0x%x)",
			   id, s->name, kq_dirty_mode_name(vm->dirty_mode), s->flags);
	else if (kq_dirty_slot_fetch(vm, id) == 0) {
		uint64_t words = slot_words(s);
		it->bits = calloc(words, sizeof(uint64_t));
		if (!it->bits) {
			kq_err_set("out of memory for a dirty bitmap");
		} else {
			pthread_mutex_lock(&vm->dirty_lock);
			memcpy(it->bits, s->dirty, words * 8);
			memset(s->dirty, 0, words * 8);
			pthread_mutex_unlock(&vm->dirty_lock);
			it->npages = s->mem.size / KQ_PAGE_4K;
			it->gpa = s->gpa;
			r = 0;
		}
	}
	pthread_rwlock_unlock(&vm->slots_lock);
	return r;
}

bool kq_dirty_next(struct kq_dirty_iter *it, uint64_t *gpa)
{
	while (it->pos < it->npages) {
		uint64_t w = it->bits[it->pos / 64] >> (it->pos % 64);
		if (!w) {
			it->pos = (it->pos / 64 + 1) * 64;
			continue;
		}
		it->pos += (uint64_t)__builtin_ctzll(w);
		if (it->pos >= it->npages)
			break;
		*gpa = it->gpa + it->pos * KQ_PAGE_4K;
		it->pos++;
		return true;
	}
	return false;
}

void kq_dirty_end(struct kq_dirty_iter *it)
{
	free(it->bits);
	it->bits = NULL;
}
