/* Test 1, residual memory: VM A (one process) fills all of its test memory
 * with a random 64-bit tag and is destroyed; VM B of the same size and
 * backing is created right after in a new process, scans all of its memory
 * from inside the guest, and the host scans B's memory too. Any tag or any
 * non-zero word is a FAIL with the address and value. One suite.conf test
 * per backing (anon, THP, hugetlbfs 2M, memfd). */
#include "isolation-tests/iso_common.h"
#include "isolation-tests/plant.h"
#include "isolation-tests/residual_abi.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define EXIT_SKIP 77

/* Written by the children, read by the driver. */
struct residual_shared {
	char err[512];
	uint64_t a_words_tagged; /* the host's count of A's words holding the tag */
	struct kq_residual_report b_guest;
	struct kq_residual_report b_host; /* the same counts, from the host's view of B */
};

struct residual_ctx {
	uint64_t size, tag;
	enum kq_backing backing;
	double time_limit_s;
	int planted_fd; /* >= 0: both VMs get this memfd (the planted violation) */
	struct residual_shared *sh;
};

static int add_test_memory(struct kq_vm *vm, const struct residual_ctx *c)
{
	int id;
	if (c->planted_fd < 0) {
		id = kq_vm_slot_add(vm, "test", KQ_TEST_GPA, c->size, c->backing, 0);
	} else {
		struct kq_mem m = {.size = c->size, .backing = KQ_BACK_MEMFD, .memfd = -1};
		m.map = mmap(NULL, c->size, PROT_READ | PROT_WRITE, MAP_SHARED, c->planted_fd, 0);
		if (m.map == MAP_FAILED)
			return kq_err_errno("mmap the planted memfd");
		m.host = m.map;
		m.map_size = c->size;
		id = kq_vm_slot_add_mem(vm, "test", KQ_TEST_GPA, &m, 0);
		if (id < 0)
			munmap(m.map, c->size);
	}
	if (id < 0 || kq_vm_map(vm, KQ_TEST_GPA, c->size, KQ_PG_2M) < 0)
		return -1;
	struct kq_params *p = kq_vcpu_params(kq_vm_vcpu(vm, 0));
	p->test_gpa = KQ_TEST_GPA;
	p->test_size = c->size;
	return 0;
}

/* Counts what the host sees in [host, host + size), as the guest does. */
static void host_scan(const uint8_t *host, uint64_t size, uint64_t tag,
		      struct kq_residual_report *r)
{
	const uint64_t *w = (const uint64_t *)host;
	memset(r, 0, sizeof(*r));
	r->first_tag_gpa = r->first_nonzero_gpa = ~0ULL;
	for (uint64_t i = 0; i < size / 8; i++) {
		if (!w[i])
			continue;
		if (!r->nonzero_words++) {
			r->first_nonzero_gpa = KQ_TEST_GPA + i * 8;
			r->first_nonzero_value = w[i];
		}
		if (w[i] == tag && !r->tag_words++)
			r->first_tag_gpa = KQ_TEST_GPA + i * 8;
	}
	r->bytes = size;
	r->finished = 1;
}

/* Builds and runs one VM; 0, EXIT_SKIP or 1 with sh->err. */
static int one_vm(struct kq_kvm *kvm, const struct residual_ctx *c, const char *workload,
		  struct kq_vm **out)
{
	struct residual_shared *sh = c->sh;
	struct kq_vm_config cfg = kq_iso_config(workload, c->time_limit_s / 2);
	cfg.args[1] = c->tag;
	*out = NULL;
	if (kq_vm_create(out, kvm, &cfg) < 0 || add_test_memory(*out, c) < 0) {
		snprintf(sh->err, sizeof(sh->err), "%s: %s", workload, kq_err());
		return kq_err_is_unavailable() ? EXIT_SKIP : 1;
	}
	if (kq_vm_run(*out) < 0) {
		snprintf(sh->err, sizeof(sh->err), "%s: %s", workload, kq_vm_failure(*out));
		return 1;
	}
	return 0;
}

static int vm_a(struct kq_kvm *kvm, void *ctx)
{
	const struct residual_ctx *c = ctx;
	struct kq_vm *vm;
	int r = one_vm(kvm, c, "iso.residual-fill", &vm);
	if (r == 0) {
		/* The premise: A's memory really held the tag before A went away. */
		struct kq_residual_report seen;
		host_scan(kq_vm_gpa_to_hva(vm, KQ_TEST_GPA, c->size), c->size, c->tag, &seen);
		c->sh->a_words_tagged = seen.tag_words;
	}
	kq_vm_destroy(vm);
	return r;
}

static int vm_b(struct kq_kvm *kvm, void *ctx)
{
	const struct residual_ctx *c = ctx;
	struct kq_vm *vm;
	int r = one_vm(kvm, c, "iso.residual-scan", &vm);
	if (r == 0) {
		memcpy(&c->sh->b_guest, kq_iso_table(vm, sizeof(c->sh->b_guest)),
		       sizeof(c->sh->b_guest));
		host_scan(kq_vm_gpa_to_hva(vm, KQ_TEST_GPA, c->size), c->size, c->tag,
			  &c->sh->b_host);
	}
	kq_vm_destroy(vm);
	return r;
}

static json_t *report_json(const struct kq_residual_report *r)
{
	json_t *o =
	    json_pack("{sI sI sI}", "bytes", (json_int_t)r->bytes, "tag_words",
		      (json_int_t)r->tag_words, "nonzero_words", (json_int_t)r->nonzero_words);
	char hex[32];
	if (r->nonzero_words) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)r->first_nonzero_gpa);
		json_object_set_new(o, "first_nonzero_gpa", json_string(hex));
		snprintf(hex, sizeof(hex), "0x%016llx", (unsigned long long)r->first_nonzero_value);
		json_object_set_new(o, "first_nonzero_value", json_string(hex));
	}
	if (r->tag_words) {
		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)r->first_tag_gpa);
		json_object_set_new(o, "first_tag_gpa", json_string(hex));
	}
	return o;
}

/* Runs fn in a new process; 0, or -1 with the result set. */
static int in_child(struct kq_kvm *kvm, int (*fn)(struct kq_kvm *, void *), struct residual_ctx *c,
		    const char *which, struct kq_result *res)
{
	int st = -1;
	if (kq_run_in_child(kvm, fn, c, c->time_limit_s / 2, &st) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s: %s", which, kq_err());
		return -1;
	}
	if (st == EXIT_SKIP) {
		if (c->backing == KQ_BACK_HUGETLB_2M || c->backing == KQ_BACK_HUGETLB_1G)
			kq_result_set_status(
			    res, KQ_SKIP,
			    "%s (reserve them as root: echo %llu > "
			    "/sys/kernel/mm/hugepages/hugepages-%s/nr_hugepages)",
			    c->sh->err,
			    (unsigned long long)(c->size / kq_backing_page_size(c->backing) + 8),
			    c->backing == KQ_BACK_HUGETLB_2M ? "2048kB" : "1048576kB");
		else
			kq_result_set_status(res, KQ_SKIP, "%s", c->sh->err);
		return -1;
	}
	if (st != 0) {
		kq_result_set_status(res, KQ_FAIL, "%s (exit %d): %s", which, st, c->sh->err);
		return -1;
	}
	return 0;
}

static void verdict(struct kq_result *res, const struct residual_ctx *c)
{
	const struct residual_shared *sh = c->sh;
	const struct kq_residual_report *g = &sh->b_guest, *h = &sh->b_host;
	uint64_t words = c->size / 8;
	if (sh->a_words_tagged != words) {
		kq_result_set_status(
		    res, KQ_FAIL, "VM A's fill did not land: %llu of %llu words held the tag",
		    (unsigned long long)sh->a_words_tagged, (unsigned long long)words);
		return;
	}
	if (!g->finished || g->bytes != c->size) {
		kq_result_set_status(res, KQ_FAIL, "VM B's guest scanned %llu of %llu bytes",
				     (unsigned long long)g->bytes, (unsigned long long)c->size);
		return;
	}
	const struct kq_residual_report *bad = g->tag_words || g->nonzero_words ? g : h;
	const char *who = bad == g ? "VM B's guest" : "the host's scan of VM B";
	if (bad->tag_words) {
		kq_result_set_status(
		    res, KQ_FAIL,
		    "%s found VM A's tag 0x%016llx in %llu words, the first at GPA "
		    "0x%llx",
		    who, (unsigned long long)c->tag, (unsigned long long)bad->tag_words,
		    (unsigned long long)bad->first_tag_gpa);
	} else if (bad->nonzero_words) {
		kq_result_set_status(res, KQ_FAIL,
				     "%s found %llu non-zero words in fresh memory, the first at "
				     "GPA 0x%llx = 0x%016llx",
				     who, (unsigned long long)bad->nonzero_words,
				     (unsigned long long)bad->first_nonzero_gpa,
				     (unsigned long long)bad->first_nonzero_value);
	} else {
		kq_result_set_status(res, KQ_PASS,
				     "%llu MiB (%s): VM A's tag never seen, VM B read all zero "
				     "(guest and host scans)",
				     (unsigned long long)(c->size >> 20),
				     kq_backing_name(c->backing));
	}
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		struct kq_result *res)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	struct residual_ctx c = {
	    .size = t->mem_bytes ? t->mem_bytes : 64ULL << 20,
	    .backing = (enum kq_backing)t->backing,
	    .time_limit_s = t->time_limit_s,
	    .planted_fd = -1,
	};
	/* Every first touch is emulated there: keep it short. --quick is a
	 * smoke run (on software-assisted nested KVM such as kvm_pvm a guest
	 * touches about 1 MiB/s): smaller still. */
	uint64_t cap = o->quick ? (uint64_t)kq_test_param_size(t, "quick_memory", 2ULL << 20)
		       : kq_iso_emulated(o)
			   ? (uint64_t)kq_test_param_size(t, "emulated_memory", 8ULL << 20)
			   : c.size;
	if (c.size > cap)
		c.size = cap;
	c.size = (c.size + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	c.tag = kq_iso_random_u64();
	char err[256];
	c.sh = kq_iso_shared(sizeof(*c.sh), err, sizeof(err));
	if (!c.sh) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		kq_kvm_close(&kvm);
		return;
	}
	if (kq_iso_planted("residual", res)) {
		c.planted_fd = memfd_create("kvmqual-planted", MFD_CLOEXEC);
		if (c.planted_fd < 0 || ftruncate(c.planted_fd, (off_t)c.size) < 0) {
			kq_result_set_status(res, KQ_FAIL, "planted memfd: %s", strerror(errno));
			goto out;
		}
	}
	char tag[24];
	snprintf(tag, sizeof(tag), "0x%016llx", (unsigned long long)c.tag);
	kq_result_set_evidence(res, "tag", json_string(tag));
	kq_result_set_evidence(res, "backing", json_string(kq_backing_name(c.backing)));
	if (in_child(&kvm, vm_a, &c, "VM A (fill)", res) < 0 ||
	    in_child(&kvm, vm_b, &c, "VM B (scan)", res) < 0)
		goto out;
	kq_result_add_value(res, "scan_bytes", "bytes", (double)c.size);
	kq_result_set_evidence(res, "vm_a_words_tagged",
			       json_integer((json_int_t)c.sh->a_words_tagged));
	kq_result_set_evidence(res, "vm_b_guest_scan", report_json(&c.sh->b_guest));
	kq_result_set_evidence(res, "vm_b_host_scan", report_json(&c.sh->b_host));
	verdict(res, &c);
out:
	if (c.planted_fd >= 0)
		close(c.planted_fd);
	kq_iso_shared_free(c.sh, sizeof(*c.sh));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec params[] = {
    {"emulated_memory", KQ_PT_SIZE, "memory cap in the emulated host (default 8M)"},
    {"quick_memory", KQ_PT_SIZE, "memory cap with --quick (default 2M)"},
    {NULL, 0, NULL},
};

static const struct kq_driver drivers[] = {{
    .name = "isolation.residual",
    .summary = "memory a destroyed VM filled with a tag reads as zero in the next VM",
    .needs_kvm = true,
    .params = params,
    .run = run,
}};
KQ_DRIVER_TABLE(drivers)
