/* isolation.covert-llc.*: the capacity of a last-level-cache covert channel
 * between two tenants (a measurement, not an exploit). The sender VM writes
 * over an LLC-sized buffer for a 1 and idles for a 0, following bits only
 * the driver knows; the receiver VM times passes over a probe set larger
 * than its L2 with its TSC. Both guests' TSCs are put on the host's time
 * line with the offset each guest shows (guest TSC - host TSC after an
 * exit), so slot i is [T0 + i*slot, T0 + (i+1)*slot) in host cycles for
 * both. Each slot's receiver value is the median of its passes (the first
 * quarter of the slot left out); Otsu's split of those values gives the
 * received bits. Reported: bit error rate and capacity = bit rate x
 * (1 - H(BER)) for the placement (hwloc: same L3, different L3). A
 * `max.capacity_bps.value` threshold turns the measurement into a verdict. */
#include "core/isostats.h"
#include "core/stats.h"
#include "isolation-tests/covert_decode.h"
#include "isolation-tests/isob_abi.h"
#include "isolation-tests/iso_common.h"
#include "isolation-tests/isob_util.h"
#include "probes/topology.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "workloads/memory_chain.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_BITS   1024
#define MAX_PROBES 32768
#define LOG_BYTES  ((uint64_t)MAX_PROBES * 16)
#define MIB	   (1ULL << 20)

struct cov_tenant {
	int phase, go, abort;
	char err[256];
	int cpu, role;
	uint64_t bytes; /* sender: buffer; receiver: probe set */
	int64_t offset; /* guest TSC - host TSC */
	uint64_t khz, nprobes;
};

struct cov_shared {
	struct cov_tenant s[2]; /* [0] sender, [1] receiver */
	uint64_t t0_host, slot, nbits, seed;
	uint8_t bits[MAX_BITS];
	uint64_t probes[2 * MAX_PROBES]; /* host TSC at start, cycles */
};

struct cov_job {
	struct cov_shared *sh;
	int who;
};

static int tenant_fail(struct cov_tenant *s)
{
	__atomic_store_n(&s->abort, 1, __ATOMIC_RELEASE);
	return 1;
}

static uint64_t round_2m(uint64_t b)
{
	return (b + 2 * MIB - 1) & ~(2 * MIB - 1);
}

static int reply_go(struct kq_vcpu *v, const struct cov_shared *sh, int64_t offset)
{
	uint64_t t0 = sh->t0_host + (uint64_t)offset;
	if (kq_vcpu_ucall_reply(v, ISOB_COV_T0, t0) < 0 ||
	    kq_vcpu_ucall_reply(v, ISOB_COV_SLOT, sh->slot) < 0 ||
	    kq_vcpu_ucall_reply(v, ISOB_COV_NBITS, sh->nbits) < 0)
		return -1;
	return kq_vcpu_ucall_reply(v, 2, ISOB_CMD_GO);
}

static int copy_probes(struct kq_vm *vm, struct cov_shared *sh, struct cov_tenant *s,
		       const struct kq_ucall *uc)
{
	uint64_t n = uc->count / 2;
	if (n > MAX_PROBES) {
		snprintf(s->err, sizeof(s->err), "receiver logged %llu passes, room for %d",
			 (unsigned long long)n, MAX_PROBES);
		return -1;
	}
	const uint64_t *log = kq_vm_gpa_to_hva(vm, uc->data_gpa, uc->count * 8);
	if (!log) {
		snprintf(s->err, sizeof(s->err), "receiver log at 0x%llx outside guest RAM",
			 (unsigned long long)uc->data_gpa);
		return -1;
	}
	for (uint64_t i = 0; i < n; i++) {
		sh->probes[2 * i] = log[2 * i] - (uint64_t)s->offset;
		sh->probes[2 * i + 1] = log[2 * i + 1];
	}
	s->nprobes = n;
	return 0;
}

static int tenant_main(struct kq_kvm *kvm, void *ctx)
{
	struct cov_job *j = ctx;
	struct cov_shared *sh = j->sh;
	struct cov_tenant *s = &sh->s[j->who];
	bool rx = s->role == ISOB_ROLE_RECEIVER;
	uint64_t extra = rx ? LOG_BYTES : MAX_BITS, mem = round_2m(s->bytes + extra);
	uint64_t args[KQ_MAX_ARGS] = {0};
	args[ISOB_COV_ARG_ROLE] = (uint64_t)s->role;
	args[ISOB_COV_ARG_BYTES] = s->bytes;
	args[ISOB_COV_ARG_BITS] = KQ_TEST_GPA + s->bytes;
	args[ISOB_COV_ARG_LOG] = KQ_TEST_GPA + s->bytes;
	args[ISOB_COV_ARG_LOGN] = MAX_PROBES;
	struct kq_vm *vm =
	    isob_vm_create(kvm, "iso.covert", NULL, mem, s->cpu, 60, s->err, sizeof(s->err));
	if (!vm)
		return tenant_fail(s);
	uint8_t *host = kq_vm_test_mem(vm)->host;
	if (rx) {
		args[ISOB_COV_ARG_CHAIN] =
		    kq_chain_build(host, KQ_TEST_GPA, s->bytes, 64, sh->seed ^ 0x5eed);
		if (!args[ISOB_COV_ARG_CHAIN]) {
			snprintf(s->err, sizeof(s->err), "probe chain over %llu bytes: no memory",
				 (unsigned long long)s->bytes);
			return tenant_fail(s);
		}
	} else {
		memcpy(host + s->bytes, sh->bits, sh->nbits);
	}
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	memcpy(kq_vcpu_params(v)->args, args, sizeof(args));
	s->khz = kq_vm_tsc_khz(vm);
	if (isob_guest_tsc_offset(v, 16, &s->offset, s->err, sizeof(s->err)) < 0)
		return tenant_fail(s);
	__atomic_store_n(&s->phase, 1, __ATOMIC_RELEASE);
	if (!isob_wait_flag(&s->go, 1, NULL, 30)) {
		snprintf(s->err, sizeof(s->err), "no start from the driver");
		return tenant_fail(s);
	}
	if (s->go > 1 || reply_go(v, sh, s->offset) < 0) {
		/* go > 1: the driver gave up on the other tenant; just finish. */
		if (s->go > 1 && isob_finish(v, s->err, sizeof(s->err)) == 0)
			return 0;
		return tenant_fail(s);
	}
	for (;;) {
		const struct kq_ucall *uc = isob_next_ucall(v, NULL, s->err, sizeof(s->err));
		if (!uc)
			return tenant_fail(s);
		if (uc->kind == KQ_UC_DONE)
			break;
		if (uc->kind == KQ_UC_SAMPLES && rx && copy_probes(vm, sh, s, uc) < 0)
			return tenant_fail(s);
	}
	__atomic_store_n(&s->phase, 2, __ATOMIC_RELEASE);
	kq_vm_destroy(vm);
	return 0;
}

static void decode(struct cov_shared *sh, const struct kq_test *t, const struct kq_run_opts *o,
		   double bit_ms, struct kq_result *res)
{
	uint64_t nb = sh->nbits;
	uint8_t *rx = calloc(nb, 1);
	double thr = 0;
	long missing = rx ? isob_covert_decode(sh->probes, sh->s[1].nprobes, sh->t0_host, sh->slot,
					       nb, rx, &thr)
			  : -1;
	if (missing < 0) {
		kq_result_set_status(res, KQ_FAIL, "out of memory decoding %llu bits",
				     (unsigned long long)nb);
		free(rx);
		return;
	}
	double ber = kq_bit_error_rate(sh->bits, rx, nb);
	double rate = 1e3 / bit_ms, cap = kq_channel_capacity(rate, ber);
	const char *placement = kq_test_param(t, "placement", "same-l3");
	json_t *m = kq_result_add_value(res, "capacity_bps", "bit/s", cap);
	json_t *l = json_object_get(m, "labels");
	/* A capacity is a leak: lower is better, whatever a "/s" unit says. */
	json_object_set_new(l, "better", json_string("lower"));
	json_object_set_new(l, "placement", json_string(placement));
	/* A BER far from 0.5 either way is information (1 is a perfect inverted
	 * channel), so it gets a unit without a direction. */
	m = kq_result_add_value(res, "ber", "fraction", ber);
	json_object_set_new(json_object_get(m, "labels"), "placement", json_string(placement));
	uint64_t ones = 0;
	for (uint64_t i = 0; i < nb; i++)
		ones += sh->bits[i];
	char sent[MAX_BITS / 4 + 1] = "", seen[MAX_BITS / 4 + 1] = "";
	for (uint64_t i = 0; i < nb && i < 64; i++) {
		sent[i] = (char)('0' + sh->bits[i]);
		seen[i] = (char)('0' + rx[i]);
	}
	json_t *ev = json_pack(
	    "{s:s, s:[i,i], s:I, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:s, s:s, s:I}",
	    "placement", placement, "host_cpus", sh->s[0].cpu, sh->s[1].cpu, "bits", (json_int_t)nb,
	    "bit_ms", bit_ms, "bitrate_bps", rate, "ones_sent", (json_int_t)ones, "sender_bytes",
	    (json_int_t)sh->s[0].bytes, "probe_bytes", (json_int_t)sh->s[1].bytes, "probe_passes",
	    (json_int_t)sh->s[1].nprobes, "empty_slots", (json_int_t)missing, "threshold_cycles",
	    thr, "seed", (json_int_t)sh->seed, "first_bits_sent", sent, "first_bits_received", seen,
	    "sender_tsc_offset", (json_int_t)sh->s[0].offset);
	json_object_set_new(ev, "receiver_tsc_offset", json_integer((json_int_t)sh->s[1].offset));
	kq_result_set_evidence(res, "channel", ev);
	kq_result_diag(res, "%s: %llu bits at %.0f bit/s, BER %.4f, capacity %.2f bit/s%s",
		       placement, (unsigned long long)nb, rate, ber, cap, isob_confidence_note(o));
	kq_result_set_status(res, KQ_PASS,
			     "%s: capacity %.2f bit/s at BER %.3f (%.0f bit/s sent)%s", placement,
			     cap, ber, rate, isob_confidence_note(o));
	free(rx);
}

static void run_covert(const struct kq_driver *d, const struct kq_test *t,
		       const struct kq_run_opts *o, struct kq_result *res)
{
	const char *placement = kq_test_param(t, "placement", "same-l3");
	int cpus[2];
	if (kq_topology_pick_cpus(placement, 2, cpus) < 0) {
		kq_result_set_status(res, KQ_SKIP,
				     "placement %s: the host cannot place sender and receiver so "
				     "(%s)",
				     placement,
				     errno == ENOENT ? "hwloc shows one L3 domain or too few cores"
						     : strerror(errno));
		return;
	}
	bool emu = isob_emulated(o);
	double bit_ms = kq_test_param_double(t, "bit_ms", emu ? 20 : 4);
	uint64_t nbits = (uint64_t)kq_test_param_int(t, "bits", o->quick || emu ? 32 : 128);
	if (nbits > MAX_BITS)
		nbits = MAX_BITS;
	/* The receiver's set must spill out of its L2 into the shared L3; the
	 * sender's buffer must cover the L3. The emulated host models no caches:
	 * small sets keep it quick. */
	uint64_t l2 = isob_cache_bytes(cpus[1], 2, 512 << 10);
	uint64_t l3 = isob_cache_bytes(cpus[0], 3, 32 * MIB);
	uint64_t probe = kq_test_param_size(t, "probe_bytes", emu ? 256 << 10 : 2 * l2);
	uint64_t sender = kq_test_param_size(t, "sender_bytes", emu ? 2 * MIB : 2 * l3);
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	char err[256];
	struct cov_shared *sh = kq_iso_shared(sizeof(*sh), err, sizeof(err));
	if (!sh) {
		kq_result_set_status(res, KQ_FAIL, "the shared area: %s", err);
		kq_kvm_close(&kvm);
		return;
	}
	/* The bits: the driver's secret, from a seed the tenants never see. */
	sh->seed = isob_host_tsc() ^ ((uint64_t)getpid() << 32);
	uint64_t st = sh->seed;
	for (uint64_t i = 0; i < nbits; i++)
		sh->bits[i] = (uint8_t)(kq_chain_rng(&st) >> 63);
	sh->nbits = nbits;
	sh->s[0] = (struct cov_tenant){.cpu = cpus[0], .role = ISOB_ROLE_SENDER, .bytes = sender};
	sh->s[1] = (struct cov_tenant){.cpu = cpus[1], .role = ISOB_ROLE_RECEIVER, .bytes = probe};
	struct cov_job jobs[2] = {{sh, 0}, {sh, 1}};
	double limit = t->time_limit_s > 0 ? t->time_limit_s * 0.8 : 60;
	struct isob_child c[2];
	char fail[512] = "";
	for (int i = 0; i < 2; i++) {
		c[i] = (struct isob_child){
		    .kvm = &kvm, .fn = tenant_main, .ctx = &jobs[i], .limit_s = limit};
		if (isob_child_start(&c[i]) < 0)
			snprintf(fail, sizeof(fail), "%s", c[i].err);
	}
	bool ready = !fail[0] && isob_wait_flag(&sh->s[0].phase, 1, &sh->s[0].abort, 30) &&
		     isob_wait_flag(&sh->s[1].phase, 1, &sh->s[1].abort, 30);
	if (ready) {
		uint64_t khz = sh->s[0].khz;
		sh->slot = (uint64_t)(bit_ms * (double)khz);
		/* Both start one slot plus 100 ms (1 s emulated) from now. */
		sh->t0_host =
		    isob_host_tsc() + (uint64_t)((emu ? 1000 : 100) * (double)khz) + sh->slot;
	}
	for (int i = 0; i < 2; i++)
		__atomic_store_n(&sh->s[i].go, ready ? 1 : 2, __ATOMIC_RELEASE);
	const char *who[2] = {"sender", "receiver"};
	for (int i = 0; i < 2; i++)
		if (c[i].started && isob_child_join(&c[i]) < 0 && !fail[0])
			snprintf(fail, sizeof(fail), "%s: %s", who[i],
				 sh->s[i].err[0] ? sh->s[i].err : c[i].err);
	if (!fail[0] && !ready)
		snprintf(fail, sizeof(fail), "the tenants did not get ready within 30 s");
	if (fail[0])
		kq_result_set_status(res, KQ_FAIL, "%s", fail);
	else
		decode(sh, t, o, bit_ms, res);
	kq_iso_shared_free(sh, sizeof(*sh));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec covert_params[] = {
    {"placement", KQ_PT_STRING, "hwloc placement of sender and receiver: same-l3, different-l3"},
    {"bits", KQ_PT_INT, "bits sent (default 128; 32 quick or emulated; at most 1024)"},
    {"bit_ms", KQ_PT_DOUBLE, "milliseconds per bit (default 4; 20 emulated)"},
    {"probe_bytes", KQ_PT_SIZE, "receiver's probe set (default twice the L2)"},
    {"sender_bytes", KQ_PT_SIZE, "sender's buffer (default twice the L3)"},
    {NULL, 0, NULL},
};

static int covert_validate(const struct kq_test *t, char *err, size_t len, const char **key)
{
	const char *p = kq_test_param(t, "placement", "same-l3");
	if (strcmp(p, "same-l3") && strcmp(p, "different-l3")) {
		snprintf(err, len, "placement = '%s': same-l3 or different-l3", p);
		*key = "placement";
		return -1;
	}
	return 0;
}

static const struct kq_driver covert_drivers[] = {{
    .name = "iso.covert-llc",
    .summary = "LLC covert channel between two tenant VMs: bit error rate and capacity",
    .needs_kvm = true,
    .params = covert_params,
    .run = run_covert,
    .validate = covert_validate,
}};
KQ_DRIVER_TABLE(covert_drivers)
