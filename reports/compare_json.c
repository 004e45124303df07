/* `kvmqual compare --json`: the comparison for machines (CI dashboards,
 * scripts): the options, per candidate the counts and the missing tests, and
 * the metrics with their centres, change, interval, raw and adjusted p. */
#include "reports/compare.h"

#include <math.h>

/* A finite number, or null (JSON has no NaN or infinity). */
static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *counts(const struct kq_cmp_counts *k)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "same", (json_int_t)k->same,
			 "better", (json_int_t)k->better, "worse", (json_int_t)k->worse,
			 "worse_gated", (json_int_t)k->worse_gated, "changed",
			 (json_int_t)k->changed, "missing", (json_int_t)k->missing, "added",
			 (json_int_t)k->added, "compared", (json_int_t)k->compared, "tested",
			 (json_int_t)k->tested);
}

static json_t *row_json(const struct kq_cmp *c, const struct kq_cmp_row *row, size_t r)
{
	const struct kq_cmp_delta *d = &row->d[r];
	struct kq_cmp_delta tmp = *d;
	if (!tmp.has_ci && tmp.has_test)
		kq_compare_ci(c, row, r, &tmp);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "test", row->test, "metric", row->metric,
			      "labels", row->labels ? row->labels : "", "unit", row->unit,
			      "verdict", kq_verdict_name(d->verdict), "gated", d->gated);
	json_object_set_new(o, "baseline",
			    row->side[0].present ? num(row->side[0].center) : json_null());
	json_object_set_new(o, "candidate",
			    row->side[r].present ? num(row->side[r].center) : json_null());
	json_object_set_new(o, "change_pct", num(d->delta_pct));
	if (tmp.has_ci)
		json_object_set_new(o, "ci", json_pack("[o,o]", num(tmp.ci_lo), num(tmp.ci_hi)));
	json_object_set_new(o, "p", d->has_test ? num(d->mw.p) : json_null());
	json_object_set_new(o, "q", d->has_test ? num(d->p_adj) : json_null());
	return o;
}

json_t *kq_compare_json(const struct kq_cmp *c, bool all)
{
	const struct kq_runset *rs = c->rs;
	json_t *runs = json_array(), *cands = json_array();
	for (size_t r = 0; r < rs->n; r++)
		json_array_append_new(runs,
				      json_pack("{s:s,s:s,s:s}", "label", rs->runs[r].label, "path",
						rs->runs[r].path, "environment", rs->runs[r].env));
	for (size_t r = 1; r < rs->n; r++) {
		json_t *metrics = json_array();
		for (size_t i = 0; i < c->nrows; i++) {
			const struct kq_cmp_row *row = &c->rows[i];
			if (!row->side[0].present && !row->side[r].present)
				continue;
			if (all || row->d[r].verdict != KQ_V_SAME)
				json_array_append_new(metrics, row_json(c, row, r));
		}
		json_array_append_new(
		    cands, json_pack("{s:s,s:o,s:O,s:o}", "label", rs->runs[r].label, "counts",
				     counts(&c->counts[r]), "missing_tests",
				     c->missing_tests[r] ? c->missing_tests[r] : json_null(),
				     "metrics", metrics));
	}
	json_t *globs = json_array();
	for (size_t g = 0; g < c->opts.nglobs; g++)
		json_array_append_new(globs, json_string(c->opts.globs[g]));
	size_t reg = kq_compare_regressions(c), miss = kq_compare_missing_failures(c);
	return json_pack("{s:o,s:{s:f,s:f,s:f,s:b,s:o,s:I,s:I},s:O,s:O,s:o,s:{s:b,s:I,s:I}}",
			 "runs", runs, "options", "threshold_pct", c->opts.threshold_pct,
			 "min_effect_pct", c->opts.min_effect_pct, "fdr", c->opts.fdr,
			 "allow_missing", c->opts.allow_missing, "metric_globs", globs, "resamples",
			 (json_int_t)c->opts.resamples, "seed", (json_int_t)c->opts.seed,
			 "host_differences", c->host_diff, "test_status_changes", c->status_diff,
			 "candidates", cands, "verdict", "pass", !reg && !miss, "regressions",
			 (json_int_t)reg, "missing_tests", (json_int_t)miss);
}
