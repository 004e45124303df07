/* The VM's guest page tables: table space grows by one 2 MiB memslot ("pt")
 * at a time, upwards from KQ_PT_BASE, as mappings need it. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"
#include "vmm/layout.h"

static int grow_tables(void *ctx, struct kq_pt_chunk *out)
{
	struct kq_vm *vm = ctx;
	uint64_t gpa = KQ_PT_BASE + (uint64_t)vm->pt_chunks * KQ_PT_CHUNK;
	if (gpa + KQ_PT_CHUNK > KQ_PT_END)
		return kq_err_set("page tables: the table area [0x%llx, 0x%llx) is full",
				  KQ_PT_BASE, KQ_PT_END);
	int id = kq_vm_slot_add(vm, "pt", gpa, KQ_PT_CHUNK, KQ_BACK_ANON, vm->slot_flags);
	if (id < 0)
		return -1;
	vm->pt_chunks++;
	*out = (struct kq_pt_chunk){kq_vm_gpa_to_hva(vm, gpa, KQ_PT_CHUNK), gpa, KQ_PT_CHUNK};
	return 0;
}

static void tables_written(void *ctx, uint64_t gpa, uint64_t len)
{
	kq_vm_mark_dirty(ctx, gpa, len);
}

int kq_vm_pt_init(struct kq_vm *vm)
{
	struct kq_pt_chunk c;
	if (grow_tables(vm, &c) < 0 ||
	    kq_pt_init(&vm->pt, c.host, c.gpa, c.size, c.gpa, c.gpa + c.size) < 0)
		return -1;
	kq_pt_set_hooks(&vm->pt, grow_tables, tables_written, vm);
	return 0;
}

int kq_vm_map(struct kq_vm *vm, uint64_t gpa, uint64_t size, enum kq_pagesz page_size)
{
	if (page_size == KQ_PG_1G && !kq_cpu_has_1g_pages(vm->kvm))
		return kq_err_unavailable("1G guest pages: KVM_GET_SUPPORTED_CPUID does not offer "
					  "pdpe1gb (CPUID 0x80000001 EDX bit 26)");
	pthread_mutex_lock(&vm->pt_lock);
	int r = kq_pt_map(&vm->pt, gpa, size, kq_page_size_bytes(page_size));
	pthread_mutex_unlock(&vm->pt_lock);
	return r;
}

int kq_vm_unmap(struct kq_vm *vm, uint64_t gpa, uint64_t size)
{
	pthread_mutex_lock(&vm->pt_lock);
	int r = kq_pt_unmap(&vm->pt, gpa, size);
	pthread_mutex_unlock(&vm->pt_lock);
	return r;
}

int kq_vm_translate(struct kq_vm *vm, uint64_t gva, uint64_t *gpa, uint64_t *page_size)
{
	pthread_mutex_lock(&vm->pt_lock);
	int r = kq_pt_walk(&vm->pt, gva, gpa, page_size);
	pthread_mutex_unlock(&vm->pt_lock);
	if (r < 0)
		kq_err_set("guest virtual 0x%llx is not mapped", (unsigned long long)gva);
	return r;
}

uint64_t kq_vm_pt_bytes(struct kq_vm *vm)
{
	pthread_mutex_lock(&vm->pt_lock);
	uint64_t b = kq_pt_bytes_used(&vm->pt);
	pthread_mutex_unlock(&vm->pt_lock);
	return b;
}
