/* Host hooks of PAUSE-loop exiting (row pause-loop in
 * workloads/exit_table.def, guest side in workloads/exit_ple.guest.c). KVM
 * keeps no counter of PAUSE exits, so the evidence is vCPU 0's count of all
 * its exits per measured round, beside the preemptions that make spins long
 * enough to exit. */
#include "workloads/exit_common.h"

#include <stdio.h>

static int pause_loop_prepare(struct kq_exit_ctx *c)
{
	if (c->t->vcpus < 2) {
		kq_result_set_status(c->res, KQ_FAIL,
				     "vcpus = %d: the token needs at least 2 vCPUs to pass between",
				     c->t->vcpus);
		return -1;
	}
	return 0;
}

static void pause_loop_finish(struct kq_exit_ctx *c, bool ran)
{
	if (!ran || kq_result_status(c->res) != KQ_PASS)
		return;
	uint64_t rounds = kq_exit_measured_iters(c->res, c->k->kind);
	int64_t exits = kq_exit_evidence_count(c->res, "kvm_stats_vcpu0", "exits");
	if (!rounds || exits < 0) {
		kq_result_diag(c->res, "KVM statistics unavailable: exits per round not reported");
		return;
	}
	/* Includes the ucalls and the warm-up: an upper bound on PAUSE exits. */
	char name[64];
	snprintf(name, sizeof(name), "%s.exits_per_round", c->k->kind);
	json_t *m = kq_result_add_value(c->res, name, "exits", (double)exits / (double)rounds);
	json_object_set_new(json_object_get(m, "labels"), "measures",
			    json_string("vCPU 0's KVM exits (all reasons) / measured rounds"));
}

const struct kq_exit_hooks kq_exit_hooks_pause_loop = {
    .prepare = pause_loop_prepare,
    .finish = pause_loop_finish,
};
