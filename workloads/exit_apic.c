/* Host hooks of the exit kinds that involve the in-kernel LAPIC's interrupts
 * (rows in workloads/exit_table.def, guest side in workloads/exit_apic.guest.c): hlt woken by the
 * timer, the TSC-deadline timer, self-IPIs and IPI ping-pong between two vCPUs placed on the host's
 * topology. */
#include "workloads/exit_common.h"
#include "probes/topology.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* --- timers ----------------------------------------------------------------- */

static const struct kq_param_spec delay_params[] = {
    {"delay_us", KQ_PT_U64, "deadline this many microseconds after arming it"},
    {NULL, 0, NULL},
};

static int delay_prepare(struct kq_exit_ctx *c, uint64_t def_us)
{
	int64_t us = kq_test_param_int(c->t, "delay_us", (int64_t)def_us);
	if (us < 1 || us > 1000000) {
		kq_result_set_status(c->res, KQ_FAIL, "delay_us = %lld: expected 1 to 1000000",
				     (long long)us);
		return -1;
	}
	c->go.args[0] = (uint64_t)us;
	return 0;
}

/* 50 us: inside KVM's default halt-polling window (200 us), so the wake-up
 * usually comes from polling; suite.conf runs a longer delay beside it. */
static int hlt_prepare(struct kq_exit_ctx *c)
{
	return delay_prepare(c, 50);
}

static int future_prepare(struct kq_exit_ctx *c)
{
	return delay_prepare(c, 20);
}

static int tsc_deadline_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_need_tsc_deadline(c, g);
}

/* The samples are lateness after the deadline; the halt-polling counters of
 * KVM say whether the wake-ups came from polling or from a real sleep. */
static void lateness_finish(struct kq_exit_ctx *c, bool ran)
{
	if (!ran)
		return;
	const char *suffix[] = {"cycles", "ns"};
	for (int i = 0; i < 2; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s.%s", c->k->kind, suffix[i]);
		json_t *l = json_object_get(kq_result_find_metric(c->res, name), "labels");
		if (!l)
			continue;
		json_object_set_new(l, "measures",
				    json_string("interrupt handler entry after the deadline"));
		json_object_set_new(l, "delay_us", json_integer((json_int_t)c->go.args[0]));
	}
	if (c->k->id != KQ_EXIT_ID_hlt_timer)
		return;
	int64_t polled = kq_exit_evidence_count(c->res, "kvm_stats_vcpu0", "halt_successful_poll");
	int64_t woken = kq_exit_evidence_count(c->res, "kvm_stats_vcpu0", "halt_wakeup");
	if (polled >= 0 && woken >= 0 && polled + woken > 0) {
		/* "fraction", not "ratio": neither direction is better. */
		char name[64];
		snprintf(name, sizeof(name), "%s.polled_fraction", c->k->kind);
		kq_result_add_value(c->res, name, "fraction",
				    (double)polled / (double)(polled + woken));
	}
}

/* --- self-IPI --------------------------------------------------------------- */

static int need_x2apic(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	return kq_exit_need_cpuid(c, g, 1, 2, 21, "x2APIC");
}

/* --- IPI ping-pong ------------------------------------------------------------ */

static const struct kq_param_spec pingpong_params[] = {
    {"placement", KQ_PT_STRING,
     "host CPUs of the two vCPUs: same-core (SMT siblings), same-l3, different-l3, "
     "same-package or different-package"},
    {"apic", KQ_PT_STRING, "x2apic (default; ICR by WRMSR) or xapic (ICR by MMIO)"},
    {"wait", KQ_PT_STRING,
     "spin (default: the responder busy-waits) or hlt (each ping also wakes it)"},
    {NULL, 0, NULL},
};

static const char *placement_need(const char *p)
{
	if (strcmp(p, "same-core") == 0)
		return "2 SMT siblings of one core";
	if (strcmp(p, "same-l3") == 0)
		return "2 cores that share an L3 cache";
	if (strcmp(p, "different-l3") == 0)
		return "2 CPUs in different L3 domains";
	if (strcmp(p, "same-package") == 0 || strcmp(p, "same-socket") == 0)
		return "2 cores in one package";
	if (strcmp(p, "different-package") == 0 || strcmp(p, "different-socket") == 0)
		return "2 CPUs in different packages";
	return "2 CPUs";
}

static json_int_t topo_int(json_t *topo, const char *key)
{
	return json_integer_value(json_object_get(topo, key));
}

static int pingpong_prepare(struct kq_exit_ctx *c)
{
	static struct kq_test tt;
	const char *placement = kq_test_param(c->t, "placement", "same-l3");
	const char *apic = kq_test_param(c->t, "apic", "x2apic");
	const char *wait = kq_test_param(c->t, "wait", "spin");
	if (c->t->vcpus != 2) {
		kq_result_set_status(c->res, KQ_FAIL, "vcpus = %d: IPI ping-pong needs vcpus = 2",
				     c->t->vcpus);
		return -1;
	}
	if (strcmp(apic, "x2apic") != 0 && strcmp(apic, "xapic") != 0) {
		kq_result_set_status(c->res, KQ_FAIL, "apic = %s: expected x2apic or xapic", apic);
		return -1;
	}
	if (strcmp(wait, "spin") != 0 && strcmp(wait, "hlt") != 0) {
		kq_result_set_status(c->res, KQ_FAIL, "wait = %s: expected spin or hlt", wait);
		return -1;
	}
	c->go.args[0] = strcmp(apic, "x2apic") == 0;
	c->go.args[1] = strcmp(wait, "hlt") == 0;
	tt = *c->t;
	if (kq_topology_pick_cpus(placement, 2, tt.pin_cpus) < 0) {
		if (errno == EINVAL) {
			kq_result_set_status(c->res, KQ_FAIL, "placement = %s: unknown policy",
					     placement);
			return -1;
		}
		if (errno != ENOENT) {
			kq_result_set_status(
			    c->res, KQ_FAIL,
			    "placement = %s: host topology unavailable (hwloc: %s)", placement,
			    strerror(errno));
			return -1;
		}
		json_t *topo = kq_probe_topology("");
		kq_result_set_status(
		    c->res, KQ_SKIP,
		    "placement %s needs %s; the %lld CPUs this process may use have %lld "
		    "thread(s) per core, %lld core(s), %lld L3 domain(s), %lld package(s)",
		    placement, placement_need(placement), (long long)topo_int(topo, "allowed_pus"),
		    (long long)topo_int(topo, "threads_per_core"),
		    (long long)topo_int(topo, "cores"), (long long)topo_int(topo, "l3_domains"),
		    (long long)topo_int(topo, "packages"));
		json_decref(topo);
		return -1;
	}
	tt.pin = KQ_PIN_LIST;
	tt.npin_cpus = 2;
	c->test = &tt;
	c->priv = (void *)placement;
	return 0;
}

static int pingpong_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	if (c->go.args[0])
		return need_x2apic(c, g);
	return 0;
}

static void pingpong_finish(struct kq_exit_ctx *c, bool ran)
{
	if (!ran)
		return;
	const char *suffix[] = {"cycles", "ns"};
	for (int i = 0; i < 2; i++) {
		char name[64];
		snprintf(name, sizeof(name), "vcpu0.ipi-pingpong.%s", suffix[i]);
		json_t *l = json_object_get(kq_result_find_metric(c->res, name), "labels");
		if (!l)
			continue;
		json_object_set_new(l, "placement", json_string(c->priv));
		json_object_set_new(l, "apic", json_string(c->go.args[0] ? "x2apic" : "xapic"));
		json_object_set_new(l, "wait", json_string(c->go.args[1] ? "hlt" : "spin"));
		json_object_set_new(l, "measures",
				    json_string("round trip: ping, pong, both EOIs"));
	}
}

const struct kq_exit_hooks kq_exit_hooks_hlt_timer = {
    .params = delay_params,
    .prepare = hlt_prepare,
    .setup = tsc_deadline_setup,
    .finish = lateness_finish,
};
const struct kq_exit_hooks kq_exit_hooks_tscdeadline_future = {
    .params = delay_params,
    .prepare = future_prepare,
    .setup = tsc_deadline_setup,
    .finish = lateness_finish,
};
const struct kq_exit_hooks kq_exit_hooks_x2apic = {.setup = need_x2apic};
const struct kq_exit_hooks kq_exit_hooks_ipi_pingpong = {
    .params = pingpong_params,
    .prepare = pingpong_prepare,
    .setup = pingpong_setup,
    .finish = pingpong_finish,
};
