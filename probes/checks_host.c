/* Conformance checks of the host as a whole: the environment (bare metal,
 * nested, emulated) and the kernel. */
#include "probes/check_helpers.h"
#include "probes/checks.h"
#include "probes/fs.h"
#include "probes/probe.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- probe.environment ---------------------------------------------------- */

void kq_check_environment(const char *root, kq_param_fn get, const void *ctx,
			  struct kq_check_out *o)
{
	const char *env = kq_probe_environment_at(root);
	kq_ck_evidence(o, "environment", json_string(env));
	json_t *cpu = kq_probe_cpu(root);
	kq_ck_evidence_copy(o, "hypervisor", kq_probe_get(cpu, "cpuid.hypervisor"));
	json_decref(cpu);
	const char *allow = kq_ck_param(get, ctx, "allow", "bare-metal nested emulated");
	if (!strcmp(env, "unknown"))
		kq_ck_unknown(o, "environment unknown");
	else if (!kq_ck_in_list(allow, env))
		kq_ck_fail(o, "environment is %s, expected %s", env, allow);
	kq_ck_pass_reason(o, "%s", env);
}

/* ---- probe.kernel ------------------------------------------------------- */

/* Compares dotted release numbers: "6.1.0-18-amd64" vs "5.15". */
static int release_cmp(const char *a, const char *b)
{
	for (int i = 0; i < 3; i++) {
		long x = strtol(a, (char **)&a, 10), y = strtol(b, (char **)&b, 10);
		if (x != y)
			return x < y ? -1 : 1;
		if (*a == '.')
			a++;
		else
			a = "";
		if (*b == '.')
			b++;
		else
			b = "";
	}
	return 0;
}

struct cmd_ctx {
	struct kq_check_out *o;
	const char *cmdline;
	bool want;
};

static void cmd_one(const char *w, void *arg)
{
	struct cmd_ctx *c = arg;
	if (kq_ck_in_list(c->cmdline, w) != c->want)
		kq_ck_fail(c->o, "kernel command line %s %s", c->want ? "lacks" : "has", w);
}

void kq_check_kernel(const char *root, kq_param_fn get, const void *ctx, struct kq_check_out *o)
{
	json_t *k = kq_probe_kernel(root);
	json_t *rel = json_object_get(k, "release"), *cmd = json_object_get(k, "cmdline");
	kq_ck_evidence_copy(o, "release", rel);
	kq_ck_evidence_copy(o, "cmdline", cmd);
	kq_ck_evidence_copy(o, "tainted", json_object_get(k, "tainted"));
	const char *min = kq_ck_param(get, ctx, "min_release", "");
	if (*min) {
		if (!json_is_string(rel))
			kq_ck_unknown(o, "kernel release unknown: %s", kq_unknown_reason(rel));
		else if (release_cmp(json_string_value(rel), min) < 0)
			kq_ck_fail(o, "kernel %s older than %s", json_string_value(rel), min);
	}
	const char *has = kq_ck_param(get, ctx, "cmdline_has", ""),
		   *lacks = kq_ck_param(get, ctx, "cmdline_lacks", "");
	if (*has || *lacks) {
		if (!json_is_string(cmd)) {
			kq_ck_unknown(o, "kernel command line unknown: %s", kq_unknown_reason(cmd));
		} else {
			struct cmd_ctx c = {o, json_string_value(cmd), true};
			kq_ck_each_word(has, cmd_one, &c);
			c.want = false;
			kq_ck_each_word(lacks, cmd_one, &c);
		}
	}
	if (kq_ck_param_bool(get, ctx, "untainted", false)) {
		json_t *t = json_object_get(k, "tainted");
		if (!json_is_integer(t))
			kq_ck_unknown(o, "taint state unknown");
		else if (json_integer_value(t) != 0)
			kq_ck_fail(o, "kernel tainted (%lld)", (long long)json_integer_value(t));
	}
	kq_ck_pass_reason(o, "kernel %s", kq_ck_str_or(rel, "unknown"));
	json_decref(k);
}
