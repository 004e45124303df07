/* Test 3, concurrent tenants: N VMs (2 at least, up to the CPUs available),
 * each in its own process, write a tenant-unique tag pattern over all of
 * their memory at full speed for a set time and verify every word as they
 * go; at the end each VM's host process verifies the whole memory. A word of
 * another tenant's tag, or any word that is not what this tenant wrote, is
 * a FAIL with the tenant, GPA and value. */
#include "isolation-tests/iso_common.h"
#include "isolation-tests/plant.h"
#include "isolation-tests/tenants_abi.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TENANTS 64
#define PAGE	    4096ULL

struct tenant_state {
	uint32_t tag;
	pid_t pid;
	int ready;
	char err[384];
	struct kq_tenant_report guest;
	uint64_t host_words, host_mismatches, host_first_bad_gpa, host_first_bad_value;
	uint64_t foreign_words; /* words holding another tenant's tag (guest or host view) */
	int foreign_tenant;	/* whose, the first time */
	uint64_t foreign_gpa, foreign_value;
	uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC around the run */
};

struct tenants_shared {
	int n;
	volatile int go;
	struct tenant_state t[MAX_TENANTS];
};

struct tenants_cfg {
	uint64_t mem;
	enum kq_backing backing;
	double duration_ms, time_limit_s;
	int planted_fd; /* >= 0: tenants 0 and 1 both map this page last */
	struct tenants_shared *sh;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int whose_tag(const struct tenants_shared *sh, int self, uint64_t v)
{
	for (int k = 0; k < sh->n; k++)
		if (k != self && (uint32_t)(v >> 32) == sh->t[k].tag)
			return k;
	return -1;
}

static void note_foreign(struct tenant_state *ts, const struct tenants_shared *sh, int self,
			 uint64_t gpa, uint64_t v)
{
	int k = whose_tag(sh, self, v);
	if (k < 0)
		return;
	if (!ts->foreign_words++) {
		ts->foreign_tenant = k;
		ts->foreign_gpa = gpa;
		ts->foreign_value = v;
	}
}

static int add_memory(struct kq_vm *vm, const struct tenants_cfg *c, int self)
{
	bool planted = c->planted_fd >= 0 && self < 2;
	uint64_t own = planted ? c->mem - PAGE : c->mem;
	if (kq_vm_slot_add(vm, "tenant", KQ_TEST_GPA, own, c->backing, 0) < 0)
		return -1;
	if (planted) {
		struct kq_mem m = {.size = PAGE, .backing = KQ_BACK_MEMFD, .memfd = -1};
		m.map = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, c->planted_fd, 0);
		if (m.map == MAP_FAILED)
			return kq_err_errno("mmap the planted page");
		m.host = m.map;
		m.map_size = PAGE;
		if (kq_vm_slot_add_mem(vm, "planted", KQ_TEST_GPA + own, &m, 0) < 0) {
			munmap(m.map, PAGE);
			return -1;
		}
	}
	if (kq_vm_map(vm, KQ_TEST_GPA, c->mem, KQ_PG_2M) < 0)
		return -1;
	struct kq_params *p = kq_vcpu_params(kq_vm_vcpu(vm, 0));
	p->test_gpa = KQ_TEST_GPA;
	p->test_size = c->mem;
	return 0;
}

static void host_verify(struct kq_vm *vm, const struct tenants_cfg *c, int self)
{
	struct tenant_state *ts = &c->sh->t[self];
	uint64_t pass = ts->guest.passes;
	for (uint64_t i = 0; i < c->mem / 8; i++) {
		uint64_t gpa = KQ_TEST_GPA + i * 8, v;
		if (kq_vm_read(vm, gpa, &v, 8) < 0)
			continue;
		ts->host_words++;
		if (v == kq_tenant_word(ts->tag, pass, i))
			continue;
		if (!ts->host_mismatches++) {
			ts->host_first_bad_gpa = gpa;
			ts->host_first_bad_value = v;
		}
		note_foreign(ts, c->sh, self, gpa, v);
	}
}

/* One tenant, in its own process: 0, or 1 with ts->err. */
static int tenant_main(struct kq_kvm *kvm, const struct tenants_cfg *c, int self)
{
	struct tenant_state *ts = &c->sh->t[self];
	struct kq_vm_config cfg = kq_iso_config("iso.tenant", c->time_limit_s);
	cfg.args[1] = ts->tag;
	struct kq_vm *vm = NULL;
	int rc = 1;
	if (kq_vm_create(&vm, kvm, &cfg) < 0 || add_memory(vm, c, self) < 0) {
		snprintf(ts->err, sizeof(ts->err), "tenant %d: %s", self, kq_err());
		__atomic_store_n(&ts->ready, -1, __ATOMIC_RELEASE);
		goto out;
	}
	kq_vcpu_params(kq_vm_vcpu(vm, 0))->args[2] =
	    (uint64_t)(c->duration_ms * (double)kq_vm_tsc_khz(vm));
	__atomic_store_n(&ts->ready, 1, __ATOMIC_RELEASE);
	/* Everyone starts together, so that the tenants really overlap. */
	uint64_t until = now_ns() + (uint64_t)(c->time_limit_s * 0.5e9);
	while (!c->sh->go && now_ns() < until)
		usleep(1000);
	ts->start_ns = now_ns();
	int r = kq_vm_run(vm);
	ts->end_ns = now_ns();
	if (r < 0) {
		snprintf(ts->err, sizeof(ts->err), "tenant %d: %s", self, kq_vm_failure(vm));
		goto out;
	}
	memcpy(&ts->guest, kq_iso_table(vm, sizeof(ts->guest)), sizeof(ts->guest));
	if (ts->guest.mismatches)
		note_foreign(ts, c->sh, self, ts->guest.first_bad_gpa, ts->guest.first_bad_value);
	host_verify(vm, c, self);
	rc = 0;
out:
	kq_vm_destroy(vm);
	return rc;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

/* Starts every tenant, lets them go together, waits for all. */
static int run_tenants(struct kq_kvm *kvm, struct tenants_cfg *c, struct kq_result *res)
{
	struct tenants_shared *sh = c->sh;
	for (int i = 0; i < sh->n; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			kq_result_set_status(res, KQ_FAIL, "fork of tenant %d: %s", i,
					     strerror(errno));
			sh->go = 1;
			for (int k = 0; k < i; k++)
				kill(sh->t[k].pid, SIGKILL);
			return -1;
		}
		if (pid == 0)
			_exit(tenant_main(kvm, c, i));
		sh->t[i].pid = pid;
	}
	uint64_t until = now_ns() + (uint64_t)(c->time_limit_s * 0.9e9);
	for (int i = 0; i < sh->n; i++)
		while (!__atomic_load_n(&sh->t[i].ready, __ATOMIC_ACQUIRE) && now_ns() < until)
			usleep(1000);
	sh->go = 1;
	int failed = 0;
	for (int i = 0; i < sh->n; i++) {
		int st = 0;
		for (;;) {
			pid_t w = waitpid(sh->t[i].pid, &st, WNOHANG);
			if (w == sh->t[i].pid)
				break;
			if (now_ns() >= until) {
				kill(sh->t[i].pid, SIGKILL);
				waitpid(sh->t[i].pid, &st, 0);
				snprintf(sh->t[i].err, sizeof(sh->t[i].err),
					 "tenant %d: killed at the time limit", i);
				break;
			}
			usleep(2000);
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			if (!sh->t[i].err[0])
				snprintf(sh->t[i].err, sizeof(sh->t[i].err),
					 "tenant %d: process ended with status 0x%x", i, st);
			if (!failed++)
				kq_result_set_status(res, KQ_FAIL, "%s", sh->t[i].err);
		}
	}
	return failed ? -1 : 0;
}

static void hex(json_t *o, const char *k, uint64_t v)
{
	char s[24];
	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	json_object_set_new(o, k, json_string(s));
}

static void evidence_and_verdict(const struct tenants_cfg *c, struct kq_result *res)
{
	const struct tenants_shared *sh = c->sh;
	json_t *arr = json_array();
	uint64_t start = 0, end = ~0ULL;
	char first[512] = "";
	for (int i = 0; i < sh->n; i++) {
		const struct tenant_state *ts = &sh->t[i];
		json_t *o = json_object();
		hex(o, "tag", ts->tag);
		json_object_set_new(o, "passes", json_integer((json_int_t)ts->guest.passes));
		json_object_set_new(o, "pages_written",
				    json_integer((json_int_t)ts->guest.pages_written));
		json_object_set_new(o, "guest_mismatches",
				    json_integer((json_int_t)ts->guest.mismatches));
		json_object_set_new(o, "host_words_verified",
				    json_integer((json_int_t)ts->host_words));
		json_object_set_new(o, "host_mismatches",
				    json_integer((json_int_t)ts->host_mismatches));
		json_object_set_new(o, "foreign_words",
				    json_integer((json_int_t)ts->foreign_words));
		if (ts->guest.mismatches) {
			hex(o, "guest_first_bad_gpa", ts->guest.first_bad_gpa);
			hex(o, "guest_first_bad_value", ts->guest.first_bad_value);
			hex(o, "guest_first_bad_expected", ts->guest.first_bad_expected);
		}
		if (ts->host_mismatches) {
			hex(o, "host_first_bad_gpa", ts->host_first_bad_gpa);
			hex(o, "host_first_bad_value", ts->host_first_bad_value);
		}
		json_array_append_new(arr, o);
		char name[64];
		snprintf(name, sizeof(name), "tenant%d.pages_written", i);
		kq_result_add_value(res, name, "pages", (double)ts->guest.pages_written);
		start = ts->start_ns > start ? ts->start_ns : start;
		end = ts->end_ns < end ? ts->end_ns : end;
		if (first[0])
			continue;
		if (ts->foreign_words)
			snprintf(first, sizeof(first),
				 "tenant %d holds tenant %d's tag: GPA 0x%llx = 0x%016llx (%llu "
				 "foreign words)",
				 i, ts->foreign_tenant, (unsigned long long)ts->foreign_gpa,
				 (unsigned long long)ts->foreign_value,
				 (unsigned long long)ts->foreign_words);
		else if (ts->guest.mismatches)
			snprintf(
			    first, sizeof(first),
			    "tenant %d's guest found GPA 0x%llx = 0x%016llx, expected 0x%016llx", i,
			    (unsigned long long)ts->guest.first_bad_gpa,
			    (unsigned long long)ts->guest.first_bad_value,
			    (unsigned long long)ts->guest.first_bad_expected);
		else if (ts->host_mismatches)
			snprintf(first, sizeof(first),
				 "the host found tenant %d's GPA 0x%llx = 0x%016llx at the end", i,
				 (unsigned long long)ts->host_first_bad_gpa,
				 (unsigned long long)ts->host_first_bad_value);
		else if (!ts->guest.finished || ts->guest.passes < 2)
			snprintf(first, sizeof(first), "tenant %d did not finish two passes", i);
	}
	kq_result_set_evidence(res, "tenants", arr);
	double overlap = end > start ? (double)(end - start) / 1e9 : 0;
	kq_result_set_evidence(res, "all_running_together_s", json_real(overlap));
	if (first[0])
		kq_result_set_status(res, KQ_FAIL, "%s", first);
	else if (overlap <= 0)
		kq_result_set_status(res, KQ_FAIL,
				     "the tenants never ran at the same time: nothing was tested");
	else
		kq_result_set_status(res, KQ_PASS,
				     "%d tenants of %llu MiB ran together for %.2f s: no foreign "
				     "tag, no corrupted word (guest and host checks)",
				     sh->n, (unsigned long long)(c->mem >> 20), overlap);
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		struct kq_result *res)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	bool emulated = kq_iso_emulated(o);
	struct tenants_cfg c = {
	    .mem = t->mem_bytes ? t->mem_bytes : 32ULL << 20,
	    .backing = (enum kq_backing)t->backing,
	    .duration_ms = kq_test_param_double(t, "duration_ms", 2000),
	    .time_limit_s = t->time_limit_s,
	    .planted_fd = -1,
	};
	/* Two passes at least run anyway; --quick and the emulated host (where
	 * one pass takes about a second) keep the rest short. */
	double most = o->quick ? 500 : emulated ? 1000 : c.duration_ms;
	if (c.duration_ms > most)
		c.duration_ms = most;
	uint64_t cap = o->quick	  ? kq_test_param_size(t, "quick_memory", 1ULL << 20)
		       : emulated ? kq_test_param_size(t, "emulated_memory", 4ULL << 20)
				  : c.mem;
	if (c.mem > cap)
		c.mem = cap;
	c.mem = (c.mem + (2ULL << 20) - 1) & ~((2ULL << 20) - 1);
	int n = (int)kq_test_param_int(t, "tenants", 0);
	if (n <= 0)
		n = online_cpus();
	n = n < 2 ? 2 : n > MAX_TENANTS ? MAX_TENANTS : n;
	char err[256];
	c.sh = kq_iso_shared(sizeof(*c.sh), err, sizeof(err));
	if (!c.sh) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		kq_kvm_close(&kvm);
		return;
	}
	c.sh->n = n;
	for (int i = 0; i < n; i++) {
		uint32_t tag;
		do
			tag = (uint32_t)kq_iso_random_u64();
		while (!tag || whose_tag(c.sh, i, (uint64_t)tag << 32) >= 0);
		c.sh->t[i].tag = tag;
	}
	if (kq_iso_planted("tenant", res)) {
		c.planted_fd = memfd_create("kvmqual-planted", MFD_CLOEXEC);
		if (c.planted_fd < 0 || ftruncate(c.planted_fd, (off_t)PAGE) < 0) {
			kq_result_set_status(res, KQ_FAIL, "planted memfd: %s", strerror(errno));
			goto out;
		}
		kq_result_diag(res, "planted: tenants 0 and 1 share the page at GPA 0x%llx",
			       (unsigned long long)(KQ_TEST_GPA + c.mem - PAGE));
	}
	kq_result_set_evidence(res, "duration_ms", json_real(c.duration_ms));
	kq_result_set_evidence(res, "memory_per_tenant", json_integer((json_int_t)c.mem));
	if (run_tenants(&kvm, &c, res) == 0)
		evidence_and_verdict(&c, res);
out:
	if (c.planted_fd >= 0)
		close(c.planted_fd);
	kq_iso_shared_free(c.sh, sizeof(*c.sh));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec params[] = {
    {"tenants", KQ_PT_INT, "VMs at once (0: one per online CPU; 2 at least)"},
    {"duration_ms", KQ_PT_DOUBLE,
     "how long each tenant writes (default 2000; at most 500 with --quick, 1000 emulated)"},
    {"emulated_memory", KQ_PT_SIZE, "memory cap per tenant in the emulated host (default 4M)"},
    {"quick_memory", KQ_PT_SIZE, "memory cap per tenant with --quick (default 1M)"},
    {NULL, 0, NULL},
};

static const struct kq_driver drivers[] = {{
    .name = "isolation.tenants",
    .summary = "concurrent VMs write and verify their own tags: none sees another's",
    .needs_kvm = true,
    .params = params,
    .run = run,
}};
KQ_DRIVER_TABLE(drivers)
