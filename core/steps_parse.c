#include "core/steps_parse.h"
#include "core/parse.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t op;
	int min_args, max_args;
	const char *usage;
} ops[] = {
    {"cpuid", KQ_STEP_CPUID, 1, 2, "cpuid ITERATIONS [LEAF]"},
    {"pio", KQ_STEP_PIO, 1, 1, "pio ITERATIONS"},
    {"spin", KQ_STEP_SPIN, 1, 1, "spin DURATION (e.g. 5ms)"},
    {"touch", KQ_STEP_TOUCH, 1, 2, "touch SIZE [STRIDE]"},
    {"sync", KQ_STEP_SYNC, 1, 1, "sync TAG"},
};

const char *kq_step_op_name(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

static int parse_arg(uint32_t op, int idx, const char *w, uint64_t *out)
{
	double d;
	int64_t i;
	if (op == KQ_STEP_SPIN) {
		if (kq_parse_duration_s(w, &d) < 0)
			return -1;
		*out = (uint64_t)(d * 1e6 + 0.5);
		return 0;
	}
	if (op == KQ_STEP_TOUCH)
		return kq_parse_size(w, out);
	if (kq_parse_int(w, &i) < 0 || i < 0)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

int kq_steps_parse(const char *script, struct kq_step *steps, int max, char *err, size_t errlen)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", script);
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
			    parse_arg(s->op, nargs, a, &s->arg[nargs]) < 0) {
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
