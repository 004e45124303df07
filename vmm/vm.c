/* VM creation: memory slots, the guest image, GDT/TSS/IDT and page tables. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

extern const uint8_t kq_guest_blob[], kq_guest_blob_end[];

uint64_t kq_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t kq_deadline_ns(double seconds)
{
	uint64_t now = kq_now_ns();
	/* Beyond what 64-bit nanoseconds hold (about 584 years): never reached,
	 * rather than wrapped into the past. Negative or not a number: now. */
	if (!(seconds >= 0))
		return now;
	double ns = seconds * 1e9;
	if (ns >= 9e18 || ns >= (double)(UINT64_MAX - now)) /* 9e18 < 2^63: the cast holds */
		return UINT64_MAX;
	return now + (uint64_t)ns;
}

uint64_t kq_page_size_bytes(enum kq_pagesz p)
{
	return p == KQ_PG_1G ? KQ_PAGE_1G : p == KQ_PG_2M ? KQ_PAGE_2M : KQ_PAGE_4K;
}

static const char *const page_size_names[] = {"4K", "2M", "1G"};

const char *kq_page_size_name(enum kq_pagesz p)
{
	return page_size_names[p];
}

int kq_page_size_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcasecmp(s, page_size_names[i]) == 0)
			return i;
	return -1;
}

/* Host address of [gpa, gpa + len) in the system slot, marked written. */
static void *sys_write(struct kq_vm *vm, uint64_t gpa, uint64_t len)
{
	kq_vm_mark_dirty(vm, gpa, len);
	return kq_vm_gpa_to_hva(vm, gpa, len);
}

static void write_gdt(struct kq_vm *vm)
{
	uint64_t *gdt = sys_write(vm, KQ_GDT_GPA, 5 * 8);
	uint64_t base = KQ_TSS_GPA, limit = 0x67;
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL; /* 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL; /* data, DPL 0 */
	/* 64-bit TSS descriptor, type 0xb (busy: KVM_SET_SREGS loads TR as busy). */
	gdt[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0xbULL << 40) | (1ULL << 47) |
		 (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[4] = base >> 32;
}

static void write_idt(struct kq_vm *vm)
{
	const uint64_t *stubs = kq_vm_gpa_to_hva(vm, vm->isr_table, 256 * 8);
	uint64_t *idt = sys_write(vm, KQ_IDT_GPA, 256 * 16);
	for (int v = 0; v < 256; v++) {
		uint64_t off = stubs[v];
		/* Interrupt gate (0xe), present, DPL 0, no IST. */
		idt[2 * v] = (off & 0xffff) | ((uint64_t)KQ_SEL_CODE << 16) | (0x8eULL << 40) |
			     ((off >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = off >> 32;
	}
}

static int load_image(struct kq_vm *vm)
{
	size_t len = (size_t)(kq_guest_blob_end - kq_guest_blob);
	const struct kq_image_header *h = (const void *)kq_guest_blob;
	if (len < sizeof(*h) || h->magic != KQ_IMAGE_MAGIC || h->abi_version != KQ_ABI_VERSION)
		return kq_err_set("embedded guest image: bad header (rebuild)");
	if (h->image_end - KQ_GUEST_IMAGE_GPA > KQ_GUEST_IMAGE_MAX || len > KQ_GUEST_IMAGE_MAX)
		return kq_err_set("embedded guest image: %llu bytes exceed its 1 MiB window",
				  (unsigned long long)(h->image_end - KQ_GUEST_IMAGE_GPA));
	memcpy(sys_write(vm, KQ_GUEST_IMAGE_GPA, len), kq_guest_blob, len);
	vm->entry = h->entry;
	vm->isr_table = h->isr_table;
	return 0;
}

/* The config's slots: system (0) and test (1), then the page tables. */
static int build_memory(struct kq_vm *vm)
{
	const struct kq_vm_config *c = &vm->cfg;
	vm->sys_slot = kq_vm_slot_add(vm, "sys", 0, KQ_PT_BASE, KQ_BACK_ANON, vm->slot_flags);
	if (vm->sys_slot < 0)
		return -1;
	if (c->test_mem) {
		vm->test_slot = kq_vm_slot_add(vm, "test", KQ_TEST_GPA, c->test_mem, c->backing,
					       vm->slot_flags);
		if (vm->test_slot < 0)
			return -1;
	}
	if (kq_vm_pt_init(vm) < 0)
		return -1;
	/* Below 4 GiB: RAM, the unbacked MMIO window and the LAPIC, with 2M pages. */
	if (kq_vm_map(vm, 0, KQ_TEST_GPA, KQ_PG_2M) < 0)
		return -1;
	if (c->test_mem && kq_vm_map(vm, KQ_TEST_GPA, kq_vm_test_mem(vm)->size, c->page_size) < 0)
		return -1;
	return 0;
}

static int setup_irqchip(struct kq_vm *vm)
{
	if (vm->cfg.irqchip == KQ_IRQCHIP_KERNEL)
		return KQ_IOCTL(vm->fd, KVM_CREATE_IRQCHIP, NULL) < 0 ? -1 : 0;
	if (vm->cfg.irqchip == KQ_IRQCHIP_SPLIT) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
		return KQ_IOCTL(vm->fd, KVM_ENABLE_CAP, &cap) < 0 ? -1 : 0;
	}
	return 0;
}

static int check_config(struct kq_vm *vm)
{
	const struct kq_vm_config *c = &vm->cfg;
	if (c->vcpus < 1 || c->vcpus > KQ_VCPU_MAX)
		return kq_err_set("vcpus = %d: must be 1..%d", c->vcpus, KQ_VCPU_MAX);
	uint64_t pg = kq_page_size_bytes(c->page_size);
	if (c->test_mem % pg)
		return kq_err_set("test memory %llu is not a multiple of the %s guest page",
				  (unsigned long long)c->test_mem, kq_page_size_name(c->page_size));
	if (c->page_size == KQ_PG_1G && !kq_cpu_has_1g_pages(vm->kvm))
		return kq_err_unavailable("1G guest pages: KVM_GET_SUPPORTED_CPUID does not offer "
					  "pdpe1gb (CPUID 0x80000001 EDX bit 26)");
	struct kvm_cpuid_entry2 *e1 = kq_cpuid_find(vm->kvm->cpuid, 1, 0);
	if (c->xsave && !(e1 && (e1->ecx & (1u << 26))))
		return kq_err_unavailable("XSAVE: not offered by KVM_GET_SUPPORTED_CPUID");
	if ((unsigned)c->dirty > KQ_DIRTY_RING)
		return kq_err_set("dirty = %d: not a dirty tracking mode", (int)c->dirty);
	int max = KQ_KVM_CHECK(vm->kvm->fd, KVM_CAP_MAX_VCPUS);
	if (max > 0 && c->vcpus > max)
		return kq_err_unavailable("vcpus = %d: KVM_CAP_MAX_VCPUS is %d", c->vcpus, max);
	return 0;
}

int kq_vm_create(struct kq_vm **out, struct kq_kvm *kvm, const struct kq_vm_config *cfg)
{
	struct kq_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return kq_err_set("out of memory for the VM");
	vm->t_create_ns = kq_now_ns();
	vm->kvm = kvm;
	vm->cfg = *cfg;
	vm->fd = -1;
	vm->sys_slot = vm->test_slot = -1;
	vm->no_mem.memfd = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_rwlock_init(&vm->slots_lock, NULL);
	pthread_mutex_init(&vm->pt_lock, NULL);
	pthread_mutex_init(&vm->dirty_lock, NULL);
	kq_run_init(vm);
	*out = NULL;
	if (check_config(vm) < 0)
		goto fail;

	vm->fd = (int)KQ_IOCTL(kvm->fd, KVM_CREATE_VM, (void *)0);
	if (vm->fd < 0)
		goto fail;
	/* Intel needs a TSS region for real-mode emulation; harmless elsewhere. */
	if (KQ_IOCTL(vm->fd, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL) < 0 || setup_irqchip(vm) < 0)
		goto fail;
	vm->max_slots = KQ_KVM_CHECK(vm->fd, KVM_CAP_NR_MEMSLOTS);
	if (vm->max_slots <= 0) {
		if (vm->max_slots == 0)
			kq_err_set("KVM_CAP_NR_MEMSLOTS is 0");
		goto fail;
	}
	/* Dirty rings must be enabled before any vCPU exists, manual protect
	 * before the slots. */
	if (kq_dirty_setup(vm) < 0 || build_memory(vm) < 0 || load_image(vm) < 0)
		goto fail;
	write_gdt(vm);
	write_idt(vm);

	vm->vcpus = calloc((size_t)cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		kq_err_set("out of memory for vCPUs");
		goto fail;
	}
	for (int i = 0; i < cfg->vcpus; i++) {
		vm->nvcpus = i + 1; /* so that a half-built vCPU is cleaned up too */
		if (kq_vcpu_init(vm, &vm->vcpus[i], i) < 0)
			goto fail;
	}
	*out = vm;
	return 0;
fail:;
	/* Keep the message (and its SKIP mark) across the clean-up's own calls. */
	char msg[1024];
	int unavailable = kq_err_is_unavailable();
	snprintf(msg, sizeof(msg), "%s", kq_err());
	kq_vm_destroy(vm);
	return unavailable ? kq_err_unavailable("%s", msg) : kq_err_set("%s", msg);
}

void kq_vm_destroy(struct kq_vm *vm)
{
	if (!vm)
		return;
	kq_run_destroy(vm);
	for (int i = 0; i < vm->nvcpus; i++)
		kq_vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	if (vm->fd >= 0)
		close(vm->fd);
	kq_slots_destroy(vm);
	pthread_mutex_destroy(&vm->dirty_lock);
	pthread_mutex_destroy(&vm->pt_lock);
	pthread_rwlock_destroy(&vm->slots_lock);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int kq_vm_fd(const struct kq_vm *vm)
{
	return vm->fd;
}

struct kq_kvm *kq_vm_kvm(const struct kq_vm *vm)
{
	return vm->kvm;
}

int kq_vm_nvcpus(const struct kq_vm *vm)
{
	return vm->nvcpus;
}

enum kq_irqchip kq_vm_irqchip(const struct kq_vm *vm)
{
	return vm->cfg.irqchip;
}

struct kq_vcpu *kq_vm_vcpu(struct kq_vm *vm, int i)
{
	return i >= 0 && i < vm->nvcpus ? &vm->vcpus[i] : NULL;
}

uint64_t kq_vm_tsc_khz(const struct kq_vm *vm)
{
	return vm->tsc_khz;
}

const struct kq_mem *kq_vm_test_mem(const struct kq_vm *vm)
{
	return vm->test_slot >= 0 ? &vm->slots[vm->test_slot].mem : &vm->no_mem;
}

int kq_vm_enable_cap_named(struct kq_vm *vm, uint32_t cap, uint64_t arg0, const char *name)
{
	struct kvm_enable_cap c = {.cap = cap, .args = {arg0}};
	if (ioctl(vm->fd, KVM_ENABLE_CAP, &c) < 0)
		return kq_err_errno("ioctl KVM_ENABLE_CAP(%s, 0x%llx) on the VM", name,
				    (unsigned long long)arg0);
	return 0;
}

int kq_vm_set_msr_filter(struct kq_vm *vm, const struct kvm_msr_filter *f)
{
	return KQ_IOCTL(vm->fd, KVM_X86_SET_MSR_FILTER, (void *)f) < 0 ? -1 : 0;
}

int kq_vm_stats_fd(struct kq_vm *vm)
{
	return (int)KQ_IOCTL(vm->fd, KVM_GET_STATS_FD, NULL);
}

int kq_vm_register_pio(struct kq_vm *vm, uint16_t base, uint16_t len, kq_pio_fn fn, void *ctx)
{
	if (vm->npio == KQ_MAX_HANDLERS)
		return kq_err_set("too many port handlers");
	vm->pio[vm->npio++] = (struct kq_pio_range){base, len, fn, ctx};
	return 0;
}

int kq_vm_register_mmio(struct kq_vm *vm, uint64_t base, uint64_t len, kq_mmio_fn fn, void *ctx)
{
	if (vm->nmmio == KQ_MAX_HANDLERS)
		return kq_err_set("too many MMIO handlers");
	vm->mmio[vm->nmmio++] = (struct kq_mmio_range){base, len, fn, ctx};
	return 0;
}

int kq_vm_register_exit(struct kq_vm *vm, uint32_t reason, kq_exit_fn fn, void *ctx)
{
	if (reason >= 64)
		return kq_err_set("exit reason %u: handlers cover reasons below 64", reason);
	vm->exit_fn[reason] = fn;
	vm->exit_ctx[reason] = ctx;
	return 0;
}

void kq_vm_set_ucall_handler(struct kq_vm *vm, kq_ucall_fn fn, void *ctx)
{
	vm->ucall_fn = fn;
	vm->ucall_ctx = ctx;
}
