/* Integration: memslots as data. The guest (vmm.probe) reads a tag the host
 * planted in each slot, at whatever address the host names; slots are added,
 * moved, resized and deleted between reads, and the page tables map, unmap
 * and grow. Needs /dev/kvm; without it, one SKIP. */
#include "tests/integration/vmm_test.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static struct kq_vm *vm;
static struct kq_vcpu *v;

/* Asks the guest to read the 8 bytes at gpa; returns the event that follows. */
static int guest_read(uint64_t gpa, struct kq_vcpu_event *ev, char *why, size_t len)
{
	if (!vmm_test_expect_ucall(v, KQ_UC_SYNC, NULL, why, len))
		return -1;
	if (kq_vcpu_ucall_reply(v, 1, gpa) < 0 || kq_vcpu_run_once(v, ev) < 0) {
		snprintf(why, len, "%s", kq_err());
		return -1;
	}
	return 0;
}

/* The tag the guest read at gpa, or ~0 with why. */
static uint64_t read_tag(uint64_t gpa, char *why, size_t len)
{
	struct kq_vcpu_event ev;
	if (guest_read(gpa, &ev, why, len) < 0)
		return ~0ULL;
	if (ev.kind != KQ_EV_UCALL || ev.ucall != KQ_UC_RESULT) {
		snprintf(why, len, "event %d exit %s ucall %u instead of a result", (int)ev.kind,
			 kq_exit_reason_name(ev.exit_reason), ev.ucall);
		return ~0ULL;
	}
	return ev.uc->args[0];
}

static int plant(uint64_t gpa, uint64_t tag)
{
	return kq_vm_write(vm, gpa, &tag, sizeof(tag));
}

/* A read of an address no slot backs: an MMIO exit, which the test answers. */
static void mmio_read(uint64_t gpa, const char *what)
{
	char why[256] = "";
	struct kq_vcpu_event ev;
	int r = guest_read(gpa, &ev, why, sizeof(why));
	struct kvm_run *run = kq_vcpu_kvm_run(v);
	ok(r == 0 && ev.kind == KQ_EV_EXIT && ev.exit_reason == KVM_EXIT_MMIO &&
	       run->mmio.phys_addr == gpa && !run->mmio.is_write && run->mmio.len == 8,
	   "%s: the guest's read is an MMIO exit at 0x%llx (%s)", what, (unsigned long long)gpa,
	   why);
	uint64_t answer = 0x5151515151515151ULL;
	memcpy(run->mmio.data, &answer, 8);
	struct kq_vcpu_event res;
	r = kq_vcpu_run_once(v, &res);
	ok(r == 0 && res.kind == KQ_EV_UCALL && res.ucall == KQ_UC_RESULT &&
	       res.uc->args[0] == answer,
	   "%s: the guest got the MMIO answer", what);
}

int main(void)
{
	vmm_test_open();
	struct kq_vm_config c = vmm_test_config("vmm.probe", 1);
	if (kq_vm_create(&vm, &kvm, &c) < 0) {
		ok(0, "VM created: %s", kq_err());
		return done_testing();
	}
	v = kq_vm_vcpu(vm, 0);
	char why[256];
	ok(kq_vm_max_slots(vm) > 8, "KVM_CAP_NR_MEMSLOTS queried: %d", kq_vm_max_slots(vm));
	struct kq_slot_info si;
	ok(kq_vm_slot_info(vm, 0, &si) == 0 && strcmp(si.name, "sys") == 0 && si.gpa == 0,
	   "the system slot is entry 0 of the table");

	/* Two slots at 8 GiB, mapped with 2M pages over 64 MiB. */
	uint64_t base = 8 * GIB;
	ok_vmm(kq_vm_map(vm, base, 64 * MIB, KQ_PG_2M) == 0, "64 MiB at 8 GiB mapped");
	int a = kq_vm_slot_add(vm, "a", base, 2 * MIB, KQ_BACK_ANON, 0);
	int b = kq_vm_slot_add(vm, "b", base + 16 * MIB, 64 * 1024, KQ_BACK_MEMFD, 0);
	ok_vmm(a > 0 && b > 0, "slots a (anon) and b (memfd) added: %d, %d", a, b);
	ok(kq_vm_slot_add(vm, "c", base + MIB, 2 * MIB, KQ_BACK_ANON, 0) < 0,
	   "a slot overlapping another is refused");
	has_substr(kq_err(), "overlaps slot", "naming the slot it overlaps");
	ok(kq_vm_slot_add(vm, "d", base + 100, 4096, KQ_BACK_ANON, 0) < 0,
	   "a misaligned slot is refused");
	ok(kq_vm_slot_find(vm, base + 16 * MIB + 5) == b, "slot_find finds b by address");
	plant(base + 0x1000, 0xa1a1a1a1a1a1a1a1ULL);
	plant(base + 16 * MIB, 0xb2b2b2b2b2b2b2b2ULL);
	is_int(read_tag(base + 0x1000, why, sizeof(why)), 0xa1a1a1a1a1a1a1a1ULL,
	       "the guest reads a's tag (%s)", why);
	is_int(read_tag(base + 16 * MIB, why, sizeof(why)), 0xb2b2b2b2b2b2b2b2ULL,
	       "the guest reads b's tag (%s)", why);

	/* Move a: the tag follows, the old range is unbacked. */
	uint64_t moved = base + 32 * MIB;
	ok_vmm(kq_vm_slot_move(vm, a, moved) == 0, "slot a moved to 8 GiB + 32 MiB");
	ok(kq_vm_slot_move(vm, a, base + 16 * MIB) < 0, "a move onto b is refused");
	is_int(read_tag(moved + 0x1000, why, sizeof(why)), 0xa1a1a1a1a1a1a1a1ULL,
	       "after the move the guest reads a's tag at the new address (%s)", why);
	mmio_read(base + 0x1000, "a's old address");

	/* Resize a: contents kept, the new part usable. */
	ok_vmm(kq_vm_slot_resize(vm, a, 4 * MIB) == 0, "slot a resized to 4 MiB");
	plant(moved + 3 * MIB, 0xa3a3a3a3a3a3a3a3ULL);
	is_int(read_tag(moved + 0x1000, why, sizeof(why)), 0xa1a1a1a1a1a1a1a1ULL,
	       "after the resize a's tag is still there (%s)", why);
	is_int(read_tag(moved + 3 * MIB, why, sizeof(why)), 0xa3a3a3a3a3a3a3a3ULL,
	       "and the grown part holds a new tag (%s)", why);

	/* A read-only slot reads like any other. */
	int ro = kq_vm_slot_add(vm, "ro", base + 48 * MIB, 4096, KQ_BACK_ANON, KQ_SLOT_READONLY);
	plant(base + 48 * MIB, 0xcececececececeULL);
	is_int(read_tag(base + 48 * MIB, why, sizeof(why)), 0xcececececececeULL,
	       "a KVM_MEM_READONLY slot (%d) is readable (%s)", ro, why);
	ok(kq_vm_slot_set_flags(vm, ro, 0) < 0, "clearing READONLY in place is refused");

	/* Delete b: its range becomes an MMIO exit. */
	ok(kq_vm_slot_delete(vm, b) == 0, "slot b deleted");
	ok(kq_vm_slot_info(vm, b, &si) < 0, "b is gone from the table");
	mmio_read(base + 16 * MIB, "b's deleted range");

	/* A 4K mapping and a slot above everything else. */
	uint64_t high = 300 * GIB;
	ok_vmm(kq_vm_map(vm, high, 4096, KQ_PG_4K) == 0 &&
		   kq_vm_slot_add(vm, "high", high, 4096, KQ_BACK_ANON, 0) > 0,
	       "a 4K page at 300 GiB mapped and backed");
	uint64_t pa, ps;
	ok(kq_vm_translate(vm, high + 8, &pa, &ps) == 0 && pa == high + 8 && ps == 4096,
	   "translate walks it to itself as a 4K page");
	plant(high, 0x4b4b4b4b4b4b4b4bULL);
	is_int(read_tag(high, why, sizeof(why)), 0x4b4b4b4b4b4b4b4bULL,
	       "the guest reads the tag there (%s)", why);
	if (kq_vm_map(vm, 512 * GIB, GIB, KQ_PG_1G) < 0 && kq_err_is_unavailable())
		printf("ok %d - # SKIP 1G mapping: %s\n", ++tap_n, kq_err());
	else
		ok(kq_vm_translate(vm, 512 * GIB + 5, &pa, &ps) == 0 && ps == GIB,
		   "a 1G mapping walks as a 1G page");

	/* Page-table space grows by slots: 2 GiB of 4K pages needs over 4 MiB. */
	uint64_t before = kq_vm_pt_bytes(vm);
	uint64_t big = vmm_test_emulated() ? 512 * MIB : 2 * GIB;
	ok_vmm(kq_vm_map(vm, 64 * GIB, big, KQ_PG_4K) == 0,
	       "%llu MiB at 64 GiB mapped with 4K pages", (unsigned long long)(big / MIB));
	int pts = 0;
	for (int id = kq_vm_slot_next(vm, -1); id >= 0; id = kq_vm_slot_next(vm, id))
		if (kq_vm_slot_info(vm, id, &si) == 0 && strcmp(si.name, "pt") == 0)
			pts++;
	ok(kq_vm_pt_bytes(vm) >= before + big / 512 && pts >= 2,
	   "the tables grew from %llu to %llu bytes over %d page-table slots",
	   (unsigned long long)before, (unsigned long long)kq_vm_pt_bytes(vm), pts);
	ok(kq_vm_translate(vm, 64 * GIB + big - 4096, &pa, &ps) == 0 && ps == 4096,
	   "the last page of the range is mapped");

	/* Unmap a's range: the guest's read faults (#PF). */
	ok(kq_vm_unmap(vm, moved, 2 * MIB) == 0, "a's first 2 MiB unmapped");
	ok(kq_vm_unmap(vm, base + 48 * MIB, 4096) < 0, "unmapping part of a 2M page is refused");
	has_substr(kq_err(), "split", "saying it would split the page");
	struct kq_vcpu_event ev;
	int r = guest_read(moved + 0x1000, &ev, why, sizeof(why));
	ok(r == 0 && ev.kind == KQ_EV_UCALL && ev.ucall == KQ_UC_EXCEPTION &&
	       ev.uc->args[0] == 14 && ev.uc->args[3] == moved + 0x1000,
	   "the guest's read of the unmapped page is a #PF at that address (%s)", why);
	kq_vm_destroy(vm);
	kq_kvm_close(&kvm);
	return done_testing();
}
