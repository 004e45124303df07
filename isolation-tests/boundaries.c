/* Test 2, memslot boundaries: the guest reads and writes just below and just
 * past every memslot, inside holes, at the top of its guest-physical space
 * (MAXPHYADDR from its CPUID) and into a read-only slot. Every access outside
 * backed memory must leave KVM as KVM_EXIT_MMIO with the exact address,
 * length and direction; a write to the read-only slot must exit and leave the
 * memory unchanged; and the host's own memory next to each slot of ours holds
 * a random tag the guest must never read. */
#include "isolation-tests/boundaries_abi.h"
#include "isolation-tests/iso_common.h"
#include "isolation-tests/plant.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/pagetable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MB	   (1ULL << 20)
#define SLOT_SIZE  (2 * MB)
#define REGION	   KQ_TEST_GPA	      /* our slots and holes: 6 x 2 MiB from 4 GiB */
#define REGION_END (REGION + 12 * MB) /* lo, hole, island, hole, ro, hole */
/* An unused guest-virtual 2 MiB page whose entry is pointed at the top of
 * the guest-physical space: identity maps reach 47 bits only. */
#define TOP_GVA	  (1ULL << 46)
#define MMIO_SEED 0x4d4d494f5245414dULL /* what our MMIO reads return, mixed with the GPA */

enum expect { BACKED, MMIO, RO_WRITE };
static const char *const expect_names[] = {"backed", "MMIO exit", "read-only write exit"};

struct probe {
	uint64_t gpa;
	enum expect expect;
	char where[64];
	/* Seen by the MMIO handler. */
	int exits;
	uint64_t exit_addr;
	uint32_t exit_len;
	bool exit_write;
};

struct bnd {
	struct kq_vm *vm;
	struct kq_bnd_table *table; /* host view of the guest's table */
	struct probe probes[KQ_BND_MAX];
	int n;
	int stray; /* MMIO exits with no probe in progress */
	uint64_t stray_addr;
	uint64_t tag;
	int ro_slot;
	bool have_ro;
};

static uint64_t pattern(uint64_t gpa)
{
	return 0x5107000000000000ULL ^ gpa;
}

static uint64_t mmio_value(uint64_t gpa)
{
	return MMIO_SEED ^ gpa;
}

static uint64_t width_mask(uint32_t len)
{
	return len == 8 ? ~0ULL : (1ULL << (8 * len)) - 1;
}

static void add(struct bnd *b, uint64_t gpa, uint64_t gva, uint32_t len, bool write, enum expect e,
		const char *where)
{
	if (b->n == KQ_BND_MAX)
		return;
	struct probe *p = &b->probes[b->n];
	struct kq_bnd_probe *g = &b->table->p[b->n];
	memset(p, 0, sizeof(*p));
	p->gpa = gpa;
	p->expect = e;
	snprintf(p->where, sizeof(p->where), "%s", where);
	*g = (struct kq_bnd_probe){.gva = gva, .len = len, .write = write};
	if (write)
		g->value = ~pattern(gpa) & width_mask(len);
	b->n++;
	b->table->nprobes = (uint64_t)b->n;
}

static bool backed(struct bnd *b, uint64_t gpa)
{
	return kq_vm_slot_find(b->vm, gpa) >= 0;
}

static int on_mmio(void *ctx, struct kq_vcpu *v, uint64_t addr, uint8_t *data, int len,
		   bool is_write)
{
	struct bnd *b = ctx;
	uint64_t cur = __atomic_load_n(&b->table->current, __ATOMIC_ACQUIRE);
	if (cur >= (uint64_t)b->n) {
		if (!b->stray++)
			b->stray_addr = addr;
	} else {
		struct probe *p = &b->probes[cur];
		if (!p->exits++) {
			p->exit_addr = addr;
			p->exit_len = (uint32_t)len;
			p->exit_write = is_write;
		}
	}
	if (!is_write) {
		uint64_t val = mmio_value(addr);
		memcpy(data, &val, (size_t)len <= 8 ? (size_t)len : 8);
	}
	return 0;
}

/* Points the 2 MiB guest page at gva (already mapped) to gpa, by walking the
 * tables from CR3 as the MMU would. */
static int remap_2m(struct kq_vm *vm, uint64_t gva, uint64_t gpa)
{
	struct kvm_sregs s;
	if (kq_vcpu_get_sregs(kq_vm_vcpu(vm, 0), &s) < 0)
		return -1;
	uint64_t table = s.cr3 & KQ_PTE_ADDR;
	for (int level = 3; level >= 1; level--) {
		uint64_t *e =
		    kq_vm_gpa_to_hva(vm, table + ((gva >> (12 + 9 * level)) & 511) * 8, 8);
		if (!e || !(*e & KQ_PTE_P))
			return kq_err_set("remapping 0x%llx: no level-%d entry",
					  (unsigned long long)gva, level);
		if (level == 1) {
			*e = (*e & ~KQ_PTE_ADDR) | gpa;
			return 0;
		}
		table = *e & KQ_PTE_ADDR;
	}
	return 0;
}

/* Our slots: lo, island and ro, each with the tag in the host pages on both
 * sides; holes between them and after. */
static int build_slots(struct bnd *b, bool plant, struct kq_result *res)
{
	static const struct {
		const char *name;
		uint64_t off;
		bool ro;
	} ours[] = {{"lo", 0, false}, {"island", 4 * MB, false}, {"ro", 8 * MB, true}};
	for (size_t i = 0; i < 3; i++) {
		if (ours[i].ro && !b->have_ro)
			continue;
		struct kq_mem m;
		if (kq_iso_mem_with_guards(&m, SLOT_SIZE, b->tag) < 0)
			return -1;
		uint64_t *w = (uint64_t *)m.host, gpa = REGION + ours[i].off;
		for (uint64_t k = 0; k < SLOT_SIZE / 8; k++)
			w[k] = pattern(gpa + k * 8);
		int id = kq_vm_slot_add_mem(b->vm, ours[i].name, gpa, &m,
					    ours[i].ro ? KQ_SLOT_READONLY : 0);
		if (id < 0) {
			kq_mem_free(&m);
			return -1;
		}
		if (ours[i].ro)
			b->ro_slot = id;
	}
	if (plant) {
		/* A page of the host's own memory, tag and all, inside hole 1. */
		struct kq_mem m;
		if (kq_mem_alloc(&m, 4096, KQ_BACK_ANON) < 0)
			return -1;
		for (int k = 0; k < 512; k++)
			((uint64_t *)m.host)[k] = b->tag;
		if (kq_vm_slot_add_mem(b->vm, "planted", REGION + 3 * MB, &m, 0) < 0) {
			kq_mem_free(&m);
			return -1;
		}
		kq_result_diag(res, "planted: host page with the tag at GPA 0x%llx (hole 1)",
			       (unsigned long long)(REGION + 3 * MB));
	}
	return kq_vm_map(b->vm, REGION, REGION_END - REGION, KQ_PG_2M);
}

/* Reads and writes at both edges of every slot, inside. */
static void edge_probes(struct bnd *b)
{
	struct kq_slot_info si;
	for (int id = kq_vm_slot_next(b->vm, -1); id >= 0; id = kq_vm_slot_next(b->vm, id)) {
		if (kq_vm_slot_info(b->vm, id, &si) < 0 || !strcmp(si.name, "planted"))
			continue;
		bool ours = si.gpa >= REGION && si.gpa < REGION_END;
		bool ro = si.flags & KQ_SLOT_READONLY;
		uint64_t end = si.gpa + si.size;
		char w[64];
		const uint64_t at[4] = {si.gpa - 8, si.gpa, end - 8, end};
		const char *what[4] = {"below", "first word of", "last word of", "past"};
		for (int k = 0; k < 4; k++) {
			uint64_t a = at[k];
			if (k == 0 && si.gpa < 8)
				continue;
			snprintf(w, sizeof(w), "%s slot '%s'", what[k], si.name);
			bool in = backed(b, a);
			add(b, a, a, 8, false, in ? BACKED : MMIO, w);
			/* Writes only where they cannot hurt: holes and our own slots. */
			if (!in)
				add(b, a, a, 4, true, MMIO, w);
			else if (ours && (k == 1 || k == 2))
				add(b, a, a, k == 1 ? 2 : 8, true, ro ? RO_WRITE : BACKED, w);
		}
	}
}

static void hole_probes(struct bnd *b)
{
	static const struct {
		uint64_t gpa;
		const char *where;
	} holes[] = {
	    {REGION + 3 * MB, "inside hole 1 (lo..island)"},
	    {REGION + 7 * MB + 0x100, "inside hole 2 (island..ro)"},
	    {REGION + 11 * MB, "inside hole 3 (after ro)"},
	    {0x80000000ULL, "inside the hole below the MMIO window"},
	};
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		/* With the planted page, hole 1 is backed by host memory: the
		 * expectation stays MMIO, which is what makes the plant fail. */
		add(b, holes[i].gpa, holes[i].gpa, 8, false, MMIO, holes[i].where);
		add(b, holes[i].gpa + 8, holes[i].gpa + 8, 1, true, MMIO, holes[i].where);
	}
}

static int top_probes(struct bnd *b, json_t *ev)
{
	struct kvm_cpuid2 *c = kq_vcpu_get_cpuid(kq_vm_vcpu(b->vm, 0));
	if (!c)
		return -1;
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(c, 0x80000008, 0);
	unsigned maxphy = e ? e->eax & 0xff : 36;
	free(c);
	json_object_set_new(ev, "maxphyaddr", json_integer(maxphy));
	uint64_t top = 1ULL << maxphy;
	if (kq_vm_map(b->vm, TOP_GVA, 2 * MB, KQ_PG_2M) < 0 ||
	    remap_2m(b->vm, TOP_GVA, top - 2 * MB) < 0)
		return -1;
	uint64_t gva = TOP_GVA + 2 * MB, gpa;
	add(b, top - 8, gva - 8, 8, false, MMIO, "last word of guest-physical space");
	add(b, top - 16, gva - 16, 8, true, MMIO, "last words of guest-physical space");
	add(b, top - 2 * MB, TOP_GVA, 2, false, MMIO, "top 2 MiB of guest-physical space");
	uint64_t ps;
	if (kq_vm_translate(b->vm, gva - 8, &gpa, &ps) < 0 || gpa != top - 8)
		return kq_err_set("remapped top page translates to 0x%llx, not 0x%llx",
				  (unsigned long long)gpa, (unsigned long long)(top - 8));
	return 0;
}

/* What a read of backed memory must return: our slots hold the pattern the
 * host wrote before the run (a later probe may write over it); the vmm's own
 * slots are read only, so what the host sees there now. */
static uint64_t read_want(uint64_t gpa, uint64_t now)
{
	return gpa >= REGION && gpa < REGION_END ? pattern(gpa) : now;
}

/* Checks every probe; the first violation becomes the FAIL, all of them go
 * into the evidence. */
static int judge(struct bnd *b, struct kq_result *res, json_t *ev)
{
	json_t *bad = json_array();
	int nbad = 0, mmio = 0, backed_n = 0, ro = 0;
	char first[512] = "";
	for (int i = 0; i < b->n; i++) {
		struct probe *p = &b->probes[i];
		struct kq_bnd_probe *g = &b->table->p[i];
		char why[256] = "";
		uint64_t cur = 0;
		if (!g->write && g->value == (b->tag & width_mask(g->len)) && g->len == 8)
			snprintf(why, sizeof(why), "read the host's tag 0x%016llx",
				 (unsigned long long)b->tag);
		else if (p->expect == BACKED && p->exits)
			snprintf(why, sizeof(why), "backed, yet an MMIO exit at 0x%llx",
				 (unsigned long long)p->exit_addr);
		else if (p->expect != BACKED && p->exits != 1)
			snprintf(why, sizeof(why), "%d MMIO exits, expected 1", p->exits);
		else if (p->expect != BACKED && (p->exit_addr != p->gpa || p->exit_len != g->len ||
						 p->exit_write != (bool)g->write))
			snprintf(why, sizeof(why),
				 "MMIO exit at 0x%llx len %u %s, expected 0x%llx len %u %s",
				 (unsigned long long)p->exit_addr, p->exit_len,
				 p->exit_write ? "write" : "read", (unsigned long long)p->gpa,
				 g->len, g->write ? "write" : "read");
		else if (p->expect == MMIO && !g->write &&
			 g->value != (mmio_value(p->gpa) & width_mask(g->len)))
			snprintf(why, sizeof(why), "read 0x%llx, not the MMIO answer 0x%llx",
				 (unsigned long long)g->value,
				 (unsigned long long)(mmio_value(p->gpa) & width_mask(g->len)));
		else if (p->expect != MMIO && kq_vm_read(b->vm, p->gpa, &cur, g->len) < 0)
			snprintf(why, sizeof(why), "host cannot read it back: %s", kq_err());
		else if (p->expect == BACKED && !g->write && g->value != read_want(p->gpa, cur))
			snprintf(why, sizeof(why), "read 0x%llx, the slot held 0x%llx",
				 (unsigned long long)g->value,
				 (unsigned long long)read_want(p->gpa, cur));
		else if (p->expect == BACKED && g->write && cur != g->value)
			snprintf(why, sizeof(why), "wrote 0x%llx, the slot holds 0x%llx",
				 (unsigned long long)g->value, (unsigned long long)cur);
		else if (p->expect == RO_WRITE && cur != (pattern(p->gpa) & width_mask(g->len)))
			snprintf(why, sizeof(why),
				 "the read-only slot changed: holds 0x%llx, was 0x%llx",
				 (unsigned long long)cur,
				 (unsigned long long)(pattern(p->gpa) & width_mask(g->len)));
		mmio += p->expect == MMIO;
		backed_n += p->expect == BACKED;
		ro += p->expect == RO_WRITE;
		if (!why[0])
			continue;
		nbad++;
		char msg[512];
		snprintf(msg, sizeof(msg), "%s %u bytes at GPA 0x%llx (%s, expected %s): %s",
			 g->write ? "write" : "read", g->len, (unsigned long long)p->gpa, p->where,
			 expect_names[p->expect], why);
		if (!first[0])
			snprintf(first, sizeof(first), "%s", msg);
		json_array_append_new(bad, json_string(msg));
	}
	json_object_set_new(ev, "probes", json_integer(b->n));
	json_object_set_new(ev, "probes_mmio", json_integer(mmio));
	json_object_set_new(ev, "probes_backed", json_integer(backed_n));
	json_object_set_new(ev, "probes_readonly_write", json_integer(ro));
	json_object_set_new(ev, "violations", bad);
	if (b->stray)
		json_object_set_new(ev, "stray_mmio_exits", json_integer(b->stray));
	if (nbad)
		kq_result_set_status(res, KQ_FAIL, "%d of %d accesses broke isolation; first: %s",
				     nbad, b->n, first);
	else if (b->stray)
		kq_result_set_status(res, KQ_FAIL, "%d MMIO exits outside any probe, first 0x%llx",
				     b->stray, (unsigned long long)b->stray_addr);
	return nbad;
}

static void slots_evidence(struct bnd *b, json_t *ev)
{
	json_t *a = json_array();
	struct kq_slot_info si;
	for (int id = kq_vm_slot_next(b->vm, -1); id >= 0; id = kq_vm_slot_next(b->vm, id)) {
		if (kq_vm_slot_info(b->vm, id, &si) < 0)
			continue;
		char s[128];
		snprintf(s, sizeof(s), "%s [0x%llx, 0x%llx)%s", si.name, (unsigned long long)si.gpa,
			 (unsigned long long)(si.gpa + si.size),
			 si.flags & KQ_SLOT_READONLY ? " read-only" : "");
		json_array_append_new(a, json_string(s));
	}
	json_object_set_new(ev, "slots", a);
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		struct kq_result *res)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	struct bnd *b = calloc(1, sizeof(*b));
	json_t *ev = json_object();
	b->tag = kq_iso_random_u64();
	b->ro_slot = -1;
	b->have_ro = KQ_KVM_CHECK(kvm.fd, KVM_CAP_READONLY_MEM) > 0;
	bool plant = kq_iso_planted("hole", res);
	struct kq_vm_config cfg = kq_iso_config("iso.boundaries", t->time_limit_s);
	if (kq_vm_create(&b->vm, &kvm, &cfg) < 0) {
		kq_iso_vmm_error(res, "creating the VM");
		goto out;
	}
	b->table = kq_iso_table(b->vm, sizeof(*b->table));
	if (build_slots(b, plant, res) < 0 || top_probes(b, ev) < 0 ||
	    kq_vm_register_mmio(b->vm, 0, ~0ULL, on_mmio, b) < 0) {
		kq_iso_vmm_error(res, "building the slots and mappings");
		goto out;
	}
	edge_probes(b);
	hole_probes(b);
	char tag[24];
	snprintf(tag, sizeof(tag), "0x%016llx", (unsigned long long)b->tag);
	json_object_set_new(ev, "host_tag", json_string(tag));
	slots_evidence(b, ev);
	if (!b->have_ro)
		json_object_set_new(ev, "readonly_slot",
				    json_string("not tested: no KVM_CAP_READONLY_MEM"));
	if (kq_vm_run(b->vm) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_vm_failure(b->vm));
		goto out;
	}
	if (!b->table->finished) {
		kq_result_set_status(res, KQ_FAIL, "the guest did not finish its probes");
		goto out;
	}
	if (judge(b, res, ev) == 0 && !b->stray)
		kq_result_set_status(res, b->have_ro ? KQ_PASS : KQ_SKIP,
				     "%d accesses: every one outside backed memory exited as MMIO "
				     "with its exact address, length and direction; the host's tag "
				     "never read%s",
				     b->n,
				     b->have_ro
					 ? "; the read-only slot unchanged"
					 : " (read-only slot untested: no KVM_CAP_READONLY_MEM)");
out:
	kq_result_set_evidence(res, "boundaries", ev);
	kq_vm_destroy(b->vm);
	free(b);
	kq_kvm_close(&kvm);
}

static const struct kq_driver drivers[] = {{
    .name = "isolation.boundaries",
    .summary = "accesses at memslot edges, in holes and at the top of guest-physical space",
    .needs_kvm = true,
    .run = run,
}};
KQ_DRIVER_TABLE(drivers)
