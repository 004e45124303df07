/* isolation.time: what a tenant learns from its TSC. Three tenants in their
 * own processes: A, then B created `gap_ms` later while A still runs, and
 * (where KVM_CAP_TSC_CONTROL is offered) C with KVM_SET_TSC_KHZ at 3/4 of
 * the host rate. Each guest reports its TSC in SYNCs; the host reads its own
 * TSC after each exit, so guest - host is the offset the guest really runs
 * with (KVM's own idea, from KVM_GET_MSRS IA32_TSC, is kept as evidence).
 * Pass: each guest's first TSC read is no larger than the host cycles since
 * its VM was created (no host uptime leaks); A's and B's offsets each put
 * their TSC's zero inside their own VM's creation (so they differ by the gap
 * between the creations) and A's does not move when B arrives; the
 * TSC rate each guest sees over a host-timed sleep is KVM_GET_TSC_KHZ (or
 * the rate set with KVM_SET_TSC_KHZ). */
#include "isolation-tests/iso_common.h"
#include "isolation-tests/isob_util.h"
#include "vmm/err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MSR_IA32_TSC 0x10
#define OFFSET_SYNCS 16

/* One tenant's findings, in memory shared with its process. */
struct time_tenant {
	int phase; /* 1: first round done; 2: second round done */
	int go2;   /* the driver lets it take the second round */
	int abort;
	char err[256];
	uint64_t set_khz; /* in: KVM_SET_TSC_KHZ value, 0 none */
	double rate_s;	  /* in: the host-timed sleep */
	int cpu;	  /* in */
	uint64_t h_create0, h_create1, kvm_khz;
	int64_t kvm_offset; /* KVM_GET_MSRS IA32_TSC - host TSC */
	uint64_t g_first, h_first;
	int64_t off1, off2;
	double rate_khz;
};

static int tenant_fail(struct time_tenant *s)
{
	__atomic_store_n(&s->abort, 1, __ATOMIC_RELEASE);
	return 1;
}

static int kvm_view_offset(struct kq_vcpu *v, int64_t *off, char *err, size_t len)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = {.hdr = {.nmsrs = 1}, .e = {.index = MSR_IA32_TSC}};
	long n = KQ_IOCTL(kq_vcpu_fd(v), KVM_GET_MSRS, &m);
	uint64_t h = isob_host_tsc();
	if (n != 1) {
		snprintf(err, len, "KVM_GET_MSRS IA32_TSC: %s", n < 0 ? kq_err() : "no value");
		return -1;
	}
	*off = (int64_t)(m.e.data - h);
	return 0;
}

static int tenant_main(struct kq_kvm *kvm, void *ctx)
{
	struct time_tenant *s = ctx;
	char *err = s->err;
	size_t len = sizeof(s->err);
	s->h_create0 = isob_host_tsc();
	struct kq_vm *vm = isob_vm_create(kvm, "iso.time", NULL, 0, s->cpu, 60, err, len);
	s->h_create1 = isob_host_tsc();
	if (!vm)
		return tenant_fail(s);
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	s->kvm_khz = kq_vm_tsc_khz(vm);
	if (s->set_khz && KQ_IOCTL(kq_vcpu_fd(v), KVM_SET_TSC_KHZ, (void *)s->set_khz) < 0) {
		snprintf(err, len, "%s", kq_err());
		return tenant_fail(s);
	}
	if (kvm_view_offset(v, &s->kvm_offset, err, len) < 0)
		return tenant_fail(s);
	const struct kq_ucall *uc = isob_next_ucall(v, &s->h_first, err, len);
	if (!uc)
		return tenant_fail(s);
	s->g_first = uc->args[1];
	if (isob_guest_tsc_offset(v, OFFSET_SYNCS, &s->off1, err, len) < 0)
		return tenant_fail(s);
	/* The rate: two SYNCs around a sleep of the host's; the guest waits in the first. */
	uc = isob_next_ucall(v, NULL, err, len);
	double t0 = isob_now_s();
	uint64_t g0 = uc ? uc->args[1] : 0;
	struct timespec ts = {(time_t)s->rate_s,
			      (long)((s->rate_s - (double)(time_t)s->rate_s) * 1e9)};
	nanosleep(&ts, NULL);
	uc = uc ? isob_next_ucall(v, NULL, err, len) : NULL;
	double t1 = isob_now_s();
	if (!uc)
		return tenant_fail(s);
	s->rate_khz = (double)(uc->args[1] - g0) / (t1 - t0) / 1e3;
	__atomic_store_n(&s->phase, 1, __ATOMIC_RELEASE);
	if (!isob_wait_flag(&s->go2, 1, NULL, 40)) {
		snprintf(err, len, "the driver never asked for the second round");
		return tenant_fail(s);
	}
	if (isob_guest_tsc_offset(v, OFFSET_SYNCS, &s->off2, err, len) < 0 ||
	    isob_finish(v, err, len) < 0)
		return tenant_fail(s);
	__atomic_store_n(&s->phase, 2, __ATOMIC_RELEASE);
	kq_vm_destroy(vm);
	return 0;
}

static double cyc_ms(double cycles, uint64_t khz)
{
	return cycles / (double)khz;
}

static json_t *tenant_json(const struct time_tenant *s)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "guest_tsc_first",
			      (json_int_t)s->g_first, "guest_offset", (json_int_t)s->off1,
			      "guest_offset_after_b", (json_int_t)s->off2, "kvm_reported_offset",
			      (json_int_t)s->kvm_offset, "kvm_tsc_khz", (json_int_t)s->kvm_khz,
			      "guest_rate_khz", s->rate_khz, "host_ms_create_to_first_read",
			      cyc_ms((double)(s->h_first - s->h_create0), s->kvm_khz),
			      "guest_ms_at_first_read", cyc_ms((double)s->g_first, s->kvm_khz));
	if (s->set_khz)
		json_object_set_new(j, "set_tsc_khz", json_integer((json_int_t)s->set_khz));
	return j;
}

static double boottime_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Near zero: the first read may not exceed the host cycles since creation
 * (scaled to the guest's rate) plus margin_ms. */
static bool check_start(const struct time_tenant *s, double margin_ms, char *why, size_t len)
{
	double rate = s->set_khz ? (double)s->set_khz : (double)s->kvm_khz;
	double allowed =
	    (double)(s->h_first - s->h_create0) * rate / (double)s->kvm_khz + margin_ms * rate;
	if ((double)s->g_first <= allowed)
		return true;
	snprintf(why, len,
		 "guest TSC at its first read is %llu (%.3f s at %llu kHz), but only %.3f ms "
		 "passed since its VM was created; host uptime %.3f s, host TSC %llu: the "
		 "guest sees the host's TSC (KVM believes the offset is %lld)",
		 (unsigned long long)s->g_first, (double)s->g_first / rate / 1e3,
		 (unsigned long long)rate, cyc_ms((double)(s->h_first - s->h_create0), s->kvm_khz),
		 boottime_s(), (unsigned long long)s->h_first, (long long)s->kvm_offset);
	return false;
}

static bool check_rate(const struct time_tenant *s, double tol, char *why, size_t len,
		       const char *who)
{
	double want = s->set_khz ? (double)s->set_khz : (double)s->kvm_khz;
	double err = fabs(s->rate_khz - want) / want;
	if (err <= tol)
		return true;
	snprintf(why, len,
		 "%s: the guest's TSC ran at %.0f kHz over %.2f s of host time, %s %.0f kHz "
		 "(%.2f%% off, tolerance %.2f%%)",
		 who, s->rate_khz, s->rate_s, s->set_khz ? "KVM_SET_TSC_KHZ asked for" : "KVM says",
		 want, err * 100, tol * 100);
	return false;
}

static int start_tenant(struct isob_child *c, struct kq_kvm *kvm, struct time_tenant *s)
{
	*c = (struct isob_child){.kvm = kvm, .fn = tenant_main, .ctx = s, .limit_s = 60};
	return isob_child_start(c);
}

static void run_time(const struct kq_driver *d, const struct kq_test *t,
		     const struct kq_run_opts *o, struct kq_result *res)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", kq_err());
		return;
	}
	double gap_ms = (double)kq_test_param_int(t, "gap_ms", 250);
	double rate_s = kq_test_param_double(t, "rate_ms", o->quick ? 200 : 400) / 1e3;
	/* TCG's TSC drifts by percents against the host clock over 100 ms. */
	double tol = kq_test_param_double(t, "rate_tolerance", isob_emulated(o) ? 0.1 : 0.01);
	/* Exits cost tens of µs in the emulated host: its margins are wider. */
	double margin_ms = kq_test_param_double(t, "margin_ms", isob_emulated(o) ? 200 : 20);
	char err[256];
	struct time_tenant *s = kq_iso_shared(3 * sizeof(*s), err, sizeof(err));
	if (!s) {
		kq_result_set_status(res, KQ_FAIL, "the shared page: %s", err);
		kq_kvm_close(&kvm);
		return;
	}
	long tsc_control = ioctl(kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL);
	for (int i = 0; i < 3; i++) {
		s[i].rate_s = rate_s;
		s[i].cpu = -1;
	}
	struct isob_child c[3] = {0};
	const char *names[3] = {"A", "B", "C"};
	char fail[768] = "";
	int n = 2;
	if (start_tenant(&c[0], &kvm, &s[0]) < 0 ||
	    !isob_wait_flag(&s[0].phase, 1, &s[0].abort, 30)) {
		snprintf(fail, sizeof(fail), "tenant A: %s", s[0].err[0] ? s[0].err : c[0].err);
		goto join;
	}
	usleep((useconds_t)(gap_ms * 1e3));
	if (start_tenant(&c[1], &kvm, &s[1]) < 0 ||
	    !isob_wait_flag(&s[1].phase, 1, &s[1].abort, 30)) {
		snprintf(fail, sizeof(fail), "tenant B: %s", s[1].err[0] ? s[1].err : c[1].err);
		goto join;
	}
	if (tsc_control > 0) {
		s[2].set_khz = s[0].kvm_khz * 3 / 4;
		s[2].go2 = 1;
		if (start_tenant(&c[2], &kvm, &s[2]) == 0)
			n = 3;
	}
join:
	for (int i = 0; i < 3; i++)
		__atomic_store_n(&s[i].go2, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 3; i++)
		if (c[i].started && isob_child_join(&c[i]) < 0 && !fail[0])
			snprintf(fail, sizeof(fail), "tenant %s: %s", names[i],
				 s[i].err[0] ? s[i].err : c[i].err);
	json_t *ev = json_object();
	for (int i = 0; i < n; i++)
		json_object_set_new(ev, names[i], tenant_json(&s[i]));
	json_object_set_new(ev, "host_uptime_s", json_real(boottime_s()));
	json_object_set_new(ev, "tsc_control",
			    json_string(tsc_control > 0 ? "offered"
							: "not offered (no KVM_CAP_TSC_CONTROL): "
							  "KVM_SET_TSC_KHZ not checked"));
	kq_result_set_evidence(res, "tsc", ev);
	if (fail[0]) {
		kq_result_set_status(res, KQ_FAIL, "%s", fail);
		goto out;
	}
	uint64_t khz = s[0].kvm_khz;
	double gap = (double)(s[1].h_create0 - s[0].h_create0);
	double seen = (double)(s[0].off1 - s[1].off1),
	       moved = fabs((double)(s[0].off2 - s[0].off1));
	kq_result_add_value(res, "guest_tsc_at_start.ms", "ms", cyc_ms((double)s[0].g_first, khz));
	kq_result_add_value(res, "offset_gap.ms", "ms", cyc_ms(seen, khz));
	kq_result_add_value(res, "creation_gap.ms", "ms", cyc_ms(gap, khz));
	kq_result_add_value(res, "creation_b.ms", "ms",
			    cyc_ms((double)(s[1].h_create1 - s[1].h_create0), khz));
	kq_result_add_value(res, "rate_error.ppm", "ppm",
			    fabs(s[0].rate_khz - (double)khz) / (double)khz * 1e6);
	char why[512];
	for (int i = 0; i < n; i++)
		if (!check_start(&s[i], margin_ms, why, sizeof(why))) {
			kq_result_set_status(res, KQ_FAIL, "tenant %s: %s", names[i], why);
			goto out;
		}
	/* Each VM's offset must put its TSC's zero inside its own creation
	 * (between the host TSC before and after kq_vm_create): then B's
	 * offset is B's, not A's, and neither is the host's. */
	for (int i = 0; i < 2; i++) {
		double zero = -(double)s[i].off1, m = margin_ms * (double)khz;
		if (zero < (double)s[i].h_create0 - m || zero > (double)s[i].h_create1 + m) {
			kq_result_set_status(
			    res, KQ_FAIL,
			    "offsets not independent: tenant %s's guest TSC offset %lld puts its "
			    "zero %.3f ms from the start of its creation, which took %.3f ms (A "
			    "and B were created %.3f ms apart, their offsets differ by %.3f ms)",
			    names[i], (long long)s[i].off1,
			    cyc_ms(zero - (double)s[i].h_create0, khz),
			    cyc_ms((double)(s[i].h_create1 - s[i].h_create0), khz),
			    cyc_ms(gap, khz), cyc_ms(seen, khz));
			goto out;
		}
	}
	if (moved > margin_ms * (double)khz) {
		kq_result_set_status(res, KQ_FAIL,
				     "tenant A's TSC offset moved by %.3f ms when B was created",
				     cyc_ms(moved, khz));
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (!check_rate(&s[i], tol, why, sizeof(why), names[i])) {
			kq_result_set_status(res, KQ_FAIL, "%s", why);
			goto out;
		}
	kq_result_set_status(
	    res, KQ_PASS,
	    "guest TSC started at %.3f ms, offsets %.3f ms apart for VMs created %.3f ms "
	    "apart, rate within %.0f ppm%s",
	    cyc_ms((double)s[0].g_first, khz), cyc_ms(seen, khz), cyc_ms(gap, khz),
	    fabs(s[0].rate_khz - (double)khz) / (double)khz * 1e6,
	    tsc_control > 0 ? ", KVM_SET_TSC_KHZ respected" : "");
out:
	kq_iso_shared_free(s, 3 * sizeof(*s));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec time_params[] = {
    {"gap_ms", KQ_PT_INT, "milliseconds between creating tenant A and tenant B (default 250)"},
    {"rate_ms", KQ_PT_DOUBLE, "host-timed sleep over which the guest TSC rate is measured"},
    {"rate_tolerance", KQ_PT_DOUBLE,
     "relative error allowed in the guest TSC rate (0.01; 0.1 emulated)"},
    {"margin_ms", KQ_PT_DOUBLE, "slack for exit latencies in the offset checks (20; 200 emulated)"},
    {NULL, 0, NULL},
};

static const struct kq_driver time_drivers[] = {{
    .name = "iso.time",
    .summary = "guest TSC: starts near zero, per-VM offsets independent, rate as KVM says",
    .needs_kvm = true,
    .params = time_params,
    .run = run_time,
}};
KQ_DRIVER_TABLE(time_drivers)
