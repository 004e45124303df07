/* Conformance checks of host memory: hugepage pools, THP, KSM. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/fs.h"
#include "probes/probe.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* ---- probe.hugepages ----------------------------------------------------- */

static void pool_need(struct kq_check_out *o, json_t *pools, const char *label, long long need,
		      const char *count, json_t *mounts, bool want_mount, const char *where)
{
	json_t *p = json_object_get(pools, label);
	if (need <= 0)
		return;
	if (!p) {
		kq_ck_fail(o, "%s: no %s hugepage pool (kernel or CPU without %s pages)", where,
			   label, label);
		return;
	}
	json_t *v = json_object_get(p, count);
	if (!json_is_integer(v)) {
		char b[256];
		kq_ck_shown(v, b, sizeof(b));
		kq_ck_unknown(o, "%s: %s pool %s count: %s", where, label, count, b);
		return;
	}
	if (json_integer_value(v) < need)
		kq_ck_fail(o, "%s: %lld %s %s hugepages, need %lld", where,
			   (long long)json_integer_value(v), count, label, need);
	if (want_mount) {
		bool found = false;
		size_t i;
		json_t *m;
		char kb[32];
		snprintf(kb, sizeof(kb), "%s", label);
		json_array_foreach(mounts, i, m)
		{
			const char *ps = kq_ck_str_or(json_object_get(m, "pagesize"), "");
			/* pagesize=2M or 2048k; "default" counts for the default 2M size */
			if (!strcasecmp(ps, kb) ||
			    (!strcmp(ps, "default") && !strcmp(label, "2M")) ||
			    (!strcmp(label, "2M") && !strcasecmp(ps, "2048k")) ||
			    (!strcmp(label, "1G") &&
			     (!strcasecmp(ps, "1024M") || !strcasecmp(ps, "1048576k"))))
				found = true;
		}
		if (!json_is_array(mounts))
			kq_ck_unknown(o, "hugetlbfs mounts unknown");
		else if (!found)
			kq_ck_fail(o, "no hugetlbfs mounted for %s pages", label);
	}
}

void kq_check_hugepages(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	long long n2 = kq_ck_param_int(get, ctx, "pages_2m", 0),
		  n1 = kq_ck_param_int(get, ctx, "pages_1g", 0);
	long long node = kq_ck_param_int(get, ctx, "node", -1);
	const char *count = kq_ck_param(get, ctx, "count", "free");
	bool mount = kq_ck_param_bool(get, ctx, "mounted", false);
	if (strcmp(count, "free") && strcmp(count, "total")) {
		kq_ck_fail(o, "count = %s: expected free or total", count);
		count = "free";
	}
	json_t *pools = json_object_get(mem, "hugepages");
	char where[64] = "host";
	if (node >= 0) {
		char key[32];
		snprintf(key, sizeof(key), "node%lld", node);
		snprintf(where, sizeof(where), "NUMA node %lld", node);
		json_t *nd = json_object_get(json_object_get(mem, "numa_nodes"), key);
		pools = json_object_get(nd, "hugepages");
		if (!nd) {
			kq_ck_fail(o, "no NUMA node %lld", node);
			pools = NULL;
		}
	}
	json_t *mounts = json_object_get(mem, "hugetlbfs_mounts");
	kq_ck_evidence_copy(o, "pools", pools);
	kq_ck_evidence_copy(o, "hugetlbfs_mounts", mounts);
	kq_ck_evidence_copy(o, "thp_enabled", kq_probe_get(mem, "thp.enabled.selected"));
	kq_ck_evidence(o, "required",
		       json_pack("{s:I,s:I,s:s,s:b}", "2M", (json_int_t)n2, "1G", (json_int_t)n1,
				 "count", count, "mounted", mount));
	const char *u = pools ? kq_unknown_reason(pools) : NULL;
	if (u && (n2 > 0 || n1 > 0)) {
		kq_ck_unknown(o, "hugepage pools unknown: %s", u);
	} else if (pools && !u) {
		pool_need(o, pools, "2M", n2, count, mounts, mount, where);
		pool_need(o, pools, "1G", n1, count, mounts, mount, where);
	}
	kq_ck_pass_reason(o, "%s: %lld x 2M and %lld x 1G %s hugepages required", where, n2, n1,
			  count);
	json_decref(mem);
}

/* ---- probe.thp ------------------------------------------------------------ */

static void choice_expect(struct kq_check_out *o, json_t *thp, const char *key, const char *allow)
{
	json_t *v = json_object_get(thp, key);
	json_t *sel = json_object_get(v, "selected");
	kq_ck_evidence_copy(o, key, sel ? sel : v);
	if (!allow || !*allow)
		return;
	if (!json_is_string(sel)) {
		char b[256];
		kq_ck_shown(v, b, sizeof(b));
		kq_ck_unknown(o, "THP %s: %s", key, b);
	} else if (!kq_ck_in_list(allow, json_string_value(sel))) {
		kq_ck_fail(o, "THP %s is %s, expected %s", key, json_string_value(sel), allow);
	}
}

void kq_check_thp(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	json_t *thp = json_object_get(mem, "thp");
	choice_expect(o, thp, "enabled", kq_ck_param(get, ctx, "enabled", ""));
	choice_expect(o, thp, "defrag", kq_ck_param(get, ctx, "defrag", ""));
	choice_expect(o, thp, "shmem_enabled", kq_ck_param(get, ctx, "shmem_enabled", ""));
	kq_ck_evidence_copy(o, "hpage_pmd_size", json_object_get(thp, "hpage_pmd_size"));
	const char *en = kq_ck_str_or(kq_probe_get(thp, "enabled.selected"), NULL);
	if (en)
		kq_ck_pass_reason(o, "THP %s", en);
	else
		kq_ck_pass_reason(o, "no THP expectation");
	json_decref(mem);
}

/* ---- probe.ksm ---------------------------------------------------------- */

void kq_check_ksm(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *mem = kq_probe_memory(root);
	json_t *ksm = json_object_get(mem, "ksm");
	kq_ck_evidence_copy(o, "ksm", ksm);
	json_t *run = json_object_get(ksm, "run");
	const char *allow = kq_ck_param(get, ctx, "run", "");
	if (*allow) {
		char b[32];
		if (!json_is_integer(run)) {
			kq_ck_unknown(o, "KSM state unknown: %s", kq_unknown_reason(run));
		} else {
			snprintf(b, sizeof(b), "%lld", (long long)json_integer_value(run));
			if (!kq_ck_in_list(allow, b))
				kq_ck_fail(o, "KSM run is %s, expected %s", b, allow);
		}
	}
	if (json_is_integer(run))
		kq_ck_pass_reason(o, "KSM run=%lld", (long long)json_integer_value(run));
	else
		kq_ck_pass_reason(o, "no KSM expectation");
	json_decref(mem);
}
