/* What the conformance checks (probes/checks_*.c) share: verdicts,
 * evidence and parameters. Not for use outside probes/checks*.c. */
#ifndef KQ_PROBES_CHECK_HELPERS_H
#define KQ_PROBES_CHECK_HELPERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include "probes/checks.h"

/* An expectation the host does not meet: FAIL, or a note when not enforced. */
void kq_ck_fail(struct kq_check_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fact that cannot be known: SKIP, or FAIL with on_unknown = fail. */
void kq_ck_unknown(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A non-fatal observation. */
void kq_ck_note(struct kq_check_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The reason of a pass, unless one was already given. */
void kq_ck_pass_reason(struct kq_check_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Records evidence (steals v; NULL is null) or a copy of it. */
void kq_ck_evidence(struct kq_check_out *o, const char *key, json_t *v);
void kq_ck_evidence_copy(struct kq_check_out *o, const char *key, json_t *v);

/* Parameters through the check's getter, with defaults. */
const char *kq_ck_param(kq_param_fn get, const void *ctx, const char *key, const char *def);
bool kq_ck_param_bool(kq_param_fn get, const void *ctx, const char *key, bool def);
long long kq_ck_param_int(kq_param_fn get, const void *ctx, const char *key, long long def);

/* True when word is one of the space/comma separated words of list. */
bool kq_ck_in_list(const char *list, const char *word);
/* Calls fn for each space/comma separated word of list. */
void kq_ck_each_word(const char *list, void (*fn)(const char *w, void *arg), void *arg);
/* The string of v, or def. */
const char *kq_ck_str_or(json_t *v, const char *def);
/* A probe value as text for a reason (its unknown reason when it is one). */
void kq_ck_shown(json_t *v, char *b, size_t len);

/* The checks, by concern (checks_kvm.c, checks_cpu.c, checks_memory.c,
 * checks_mitigations.c, checks_host.c). */
#define KQ_CHECK_FN(name)                                                                          \
	void kq_check_##name(const char *root, kq_param_fn get, const void *ctx,                   \
			     struct kq_check_out *o)
KQ_CHECK_FN(kvm_caps);
KQ_CHECK_FN(kvm_cpuid);
KQ_CHECK_FN(kvm_params);
KQ_CHECK_FN(vulnerabilities);
KQ_CHECK_FN(itlb);
KQ_CHECK_FN(smt);
KQ_CHECK_FN(tsc);
KQ_CHECK_FN(cpufreq);
KQ_CHECK_FN(cpu_virt);
KQ_CHECK_FN(hugepages);
KQ_CHECK_FN(thp);
KQ_CHECK_FN(ksm);
KQ_CHECK_FN(environment);
KQ_CHECK_FN(kernel);

#endif
