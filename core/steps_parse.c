#include "core/steps_parse.h"
#include "core/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Each argument's range is checked here: the guest takes the numbers as
 * they are (a 64-bit count, a 32-bit leaf, microseconds), so a value out of
 * range would be silently cut, or overflow on the way. */
#define SPIN_MAX_US 3600000000ULL /* one hour */
static const struct {
	const char *name;
	uint32_t op;
	int min_args, max_args;
	uint64_t min[2], max[2];
	const char *usage;
} ops[] = {
    {"cpuid", KQ_STEP_CPUID, 1, 2, {0, 0}, {UINT64_MAX, UINT32_MAX}, "cpuid ITERATIONS [LEAF]"},
    {"pio", KQ_STEP_PIO, 1, 1, {0}, {UINT64_MAX}, "pio ITERATIONS"},
    {"spin", KQ_STEP_SPIN, 1, 1, {1}, {SPIN_MAX_US}, "spin DURATION (1us to 1h, e.g. 5ms)"},
    {"touch", KQ_STEP_TOUCH, 1, 2, {1, 1}, {UINT64_MAX, UINT64_MAX}, "touch SIZE [STRIDE]"},
    {"sync", KQ_STEP_SYNC, 1, 1, {0}, {UINT64_MAX}, "sync TAG"},
};

const char *kq_step_op_name(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

static int parse_arg(size_t k, int idx, const char *w, uint64_t *out)
{
	double d;
	int64_t i;
	uint64_t v;
	if (ops[k].op == KQ_STEP_SPIN) {
		/* Compared in seconds first: microseconds of a huge value overflow. */
		if (kq_parse_duration_s(w, &d) < 0 || d > SPIN_MAX_US / 1e6)
			return -1;
		v = (uint64_t)(d * 1e6 + 0.5);
	} else if (ops[k].op == KQ_STEP_TOUCH) {
		if (kq_parse_size(w, &v) < 0)
			return -1;
	} else {
		if (kq_parse_int(w, &i) < 0 || i < 0)
			return -1;
		v = (uint64_t)i;
	}
	if (v < ops[k].min[idx] || v > ops[k].max[idx])
		return -1;
	*out = v;
	return 0;
}

int kq_steps_parse(const char *script, struct kq_step *steps, int max, char *err, size_t errlen)
{
	char buf[1024];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", script) >= sizeof(buf)) {
		snprintf(err, errlen, "script longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	int n = 0;
	char *save_step;
	for (char *st = strtok_r(buf, ";\n", &save_step); st;
	     st = strtok_r(NULL, ";\n", &save_step)) {
		char *save, *w = strtok_r(st, " \t", &save);
		if (!w)
			continue;
		size_t k = 0;
		while (k < sizeof(ops) / sizeof(ops[0]) && strcmp(ops[k].name, w) != 0)
			k++;
		if (k == sizeof(ops) / sizeof(ops[0])) {
			snprintf(err, errlen,
				 "step %d: unknown op '%s' (cpuid, pio, spin, touch, sync)", n + 1,
				 w);
			return -1;
		}
		if (n == max) {
			snprintf(err, errlen, "more than %d steps", max);
			return -1;
		}
		struct kq_step *s = &steps[n];
		memset(s, 0, sizeof(*s));
		s->op = ops[k].op;
		int nargs = 0;
		for (char *a = strtok_r(NULL, " \t", &save); a; a = strtok_r(NULL, " \t", &save)) {
			if (nargs == ops[k].max_args ||
			    parse_arg(k, nargs, a, &s->arg[nargs]) < 0) {
				snprintf(err, errlen, "step %d: bad argument '%s' (usage: %s)",
					 n + 1, a, ops[k].usage);
				return -1;
			}
			nargs++;
		}
		if (nargs < ops[k].min_args) {
			snprintf(err, errlen, "step %d: missing argument (usage: %s)", n + 1,
				 ops[k].usage);
			return -1;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "no steps");
		return -1;
	}
	return n;
}
