/* The VMM against the bare reference loop, interleaved: the micro-VMM's
 * measured loop (a whole guest run, as the test's own) and the bare KVM_RUN
 * loop of workloads/reference.c take turns in KQ_REF_ROUNDS rounds ordered
 * A B B A A B B A ..., each a slice of the time goal, so that a host that
 * drifts (frequency, a neighbour, a nested hypervisor's mood) weighs on both
 * alike. Each round gives a ratio of medians; the ratio reported is their
 * geometric mean, with a Student t interval over the rounds. */
#include "workloads/exit_common.h"
#include "workloads/reference.h"
#include "core/stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double kq_t975(size_t df)
{
	/* two-sided 95% quantiles of Student's t, df 1..30; 1.96 beyond */
	static const double t[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
				   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
				   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
				   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
	if (df == 0)
		return NAN;
	return df <= 30 ? t[df - 1] : 1.96;
}

int kq_ratio_ci(const double *ratios, size_t n, double *gmean, double *lo, double *hi)
{
	double s = 0, s2 = 0;
	if (n < 2)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!(ratios[i] > 0))
			return -1;
		s += log(ratios[i]);
	}
	double m = s / (double)n;
	for (size_t i = 0; i < n; i++)
		s2 += (log(ratios[i]) - m) * (log(ratios[i]) - m);
	double half = kq_t975(n - 1) * sqrt(s2 / (double)(n - 1) / (double)n);
	*gmean = exp(m);
	*lo = exp(m - half);
	*hi = exp(m + half);
	return 0;
}

struct pooled {
	double *v;
	size_t n, cap;
};

static int pool_add(struct pooled *p, double x)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4096;
		double *v = realloc(p->v, cap * sizeof(*v));
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = x;
	return 0;
}

static double median_of(const double *v, size_t n)
{
	struct kq_stats st;
	return kq_stats_compute(v, n, &st) == 0 ? st.median : NAN;
}

/* One slice of the VMM: the kind's guest run with the slice's time goal, in
 * a result of its own; its per-exit cycle samples appended to P. */
static int vmm_slice(struct kq_exit_ctx *c, struct kq_test *slice, struct pooled *p, double *median,
		     char *err, size_t errlen)
{
	struct kq_result scratch;
	char name[96];
	int rc = -1;
	kq_result_init(&scratch, c->t->name);
	snprintf(name, sizeof(name), "%s.cycles", c->k->kind);
	if (kq_guest_run(slice, c->o, &scratch, &c->go) != 0 ||
	    kq_result_status(&scratch) != KQ_PASS) {
		snprintf(err, errlen, "the micro-VMM's run: %s",
			 json_string_value(json_object_get(scratch.obj, "reason")));
		goto out;
	}
	json_t *m = kq_result_find_metric(&scratch, name), *v;
	json_t *samples = json_object_get(m, "samples");
	size_t i, first = p->n;
	json_array_foreach(samples, i, v)
	{
		if (pool_add(p, json_number_value(v)) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (p->n == first) {
		snprintf(err, errlen, "the micro-VMM's run sent no %s samples", name);
		goto out;
	}
	*median = median_of(p->v + first, p->n - first);
	rc = 0;
out:
	kq_result_free(&scratch);
	return rc;
}

static int ref_slice(enum kq_reference_kind kind, double goal_ms, struct pooled *p, double *median,
		     uint64_t *khz, char *err, size_t errlen)
{
	static struct kq_reference ref;
	if (kq_reference_run(kind, goal_ms, &ref, err, errlen) < 0)
		return -1;
	size_t first = p->n;
	for (size_t i = 0; i < ref.n; i++)
		if (pool_add(p, (double)ref.totals[i] / (double)ref.batch) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	*median = median_of(p->v + first, p->n - first);
	*khz = ref.tsc_khz;
	return 0;
}

static json_t *add_pooled(struct kq_result *res, const char *name, const char *unit,
			  const double *v, size_t n, const char *kind)
{
	json_t *m = kq_result_add_samples(res, name, unit, v, n);
	json_t *l = json_object_get(m, "labels");
	json_object_set_new(l, "kind", json_string(kind));
	json_object_set_new(l, "handled_in", json_string("userspace"));
	if (strncmp(kind, "reference.", 10) == 0)
		json_object_set_new(l, "reference", json_true());
	json_object_set_new(l, "rounds", json_integer(KQ_REF_ROUNDS));
	return m;
}

void kq_exit_add_reference(struct kq_exit_ctx *c, enum kq_reference_kind kind)
{
	char err[256] = "", name[96], ref_kind[64];
	if (kq_result_status(c->res) != KQ_PASS || !kq_test_param_bool(c->t, "reference", true))
		return;
	struct kq_test *slice = malloc(sizeof(*slice));
	struct pooled vmm = {0}, ref = {0};
	double vmm_med[KQ_REF_ROUNDS], ref_med[KQ_REF_ROUNDS], ratio[KQ_REF_ROUNDS];
	uint64_t khz = 0;
	int k = 0;
	if (!slice) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	*slice = *c->test;
	slice->time_goal_ms = slice->quick_time_goal_ms =
	    kq_test_time_goal_ms(c->test, c->o) / KQ_REF_ROUNDS;
	for (k = 0; k < KQ_REF_ROUNDS; k++) {
		/* A B, B A, A B, ...: each round pairs adjacent slices, and the
		 * order alternates so neither side always goes first. */
		for (int turn = 0; turn < 2; turn++) {
			bool vmm_turn = (turn == 0) == (k % 2 == 0);
			int rc = vmm_turn ? vmm_slice(c, slice, &vmm, &vmm_med[k], err, sizeof(err))
					  : ref_slice(kind, slice->time_goal_ms, &ref, &ref_med[k],
						      &khz, err, sizeof(err));
			if (rc != 0)
				goto fail;
		}
		ratio[k] = vmm_med[k] / ref_med[k];
	}
	snprintf(ref_kind, sizeof(ref_kind), "reference.%s", c->k->kind);
	snprintf(name, sizeof(name), "%s.cycles", ref_kind);
	add_pooled(c->res, name, "cycles", ref.v, ref.n, ref_kind);
	for (size_t i = 0; i < ref.n; i++)
		ref.v[i] = ref.v[i] * 1e6 / (double)khz;
	snprintf(name, sizeof(name), "%s.ns", ref_kind);
	add_pooled(c->res, name, "ns", ref.v, ref.n, ref_kind);
	snprintf(ref_kind, sizeof(ref_kind), "interleaved.%s", c->k->kind);
	snprintf(name, sizeof(name), "%s.cycles", ref_kind);
	add_pooled(c->res, name, "cycles", vmm.v, vmm.n, ref_kind);

	double g, lo, hi;
	if (kq_ratio_ci(ratio, KQ_REF_ROUNDS, &g, &lo, &hi) != 0) {
		snprintf(err, sizeof(err), "a round without a positive ratio");
		goto fail;
	}
	json_t *kl = json_pack("{s:s}", "kind", c->k->kind);
	json_t *m = kq_result_add_samples(c->res, "ratio_vs_reference.rounds", "ratio", ratio,
					  KQ_REF_ROUNDS);
	json_object_update(json_object_get(m, "labels"), kl);
	json_object_set_new(json_object_get(m, "labels"), "order", json_string("ABBA"));
	static const char *const names[] = {"ratio_vs_reference", "ratio_vs_reference.ci95_low",
					    "ratio_vs_reference.ci95_high"};
	const double vals[] = {g, lo, hi};
	for (int i = 0; i < 3; i++)
		json_object_update(
		    json_object_get(kq_result_add_value(c->res, names[i], "ratio", vals[i]),
				    "labels"),
		    kl);
	json_decref(kl);
	kq_result_diag(c->res,
		       "micro-VMM / bare reference loop, interleaved over %d rounds (A B B A ...): "
		       "%.4f, 95%% CI [%.4f, %.4f] (geometric mean of the rounds' ratios of "
		       "medians)",
		       KQ_REF_ROUNDS, g, lo, hi);
	goto out;
fail:
	kq_result_set_status(c->res, KQ_FAIL, "reference loop, round %d: %s", k + 1, err);
out:
	free(slice);
	free(vmm.v);
	free(ref.v);
}
