#include "core/steps_parse.h"
#include "core/parse.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* What each argument is, with its range (documented in docs/suite-conf.md):
 * the guest takes the numbers as they are (a 64-bit count, a 32-bit leaf,
 * microseconds), so a value out of range is refused here, never cut or
 * overflowed on the way, and a step that cannot do what it says is an error. */
enum arg_kind { ARG_COUNT, ARG_LEAF, ARG_DURATION, ARG_SIZE, ARG_TAG };

static const struct {
	uint64_t min, max; /* counts, microseconds or bytes */
} ranges[] = {
    [ARG_COUNT] = {1, 1000000000},	  [ARG_LEAF] = {0, 0xffffffff},
    [ARG_DURATION] = {1, 3600000000ULL}, /* 1us to one hour */
    [ARG_SIZE] = {1, KQ_TEST_MEMORY_MAX}, [ARG_TAG] = {0, INT64_MAX},
};

static const struct {
	const char *name;
	uint32_t op;
	int min_args, max_args;
	enum arg_kind kind[2];
	const char *usage;
} ops[] = {
    {"cpuid",
     KQ_STEP_CPUID,
     1,
     2,
     {ARG_COUNT, ARG_LEAF},
     "cpuid ITERATIONS [LEAF], ITERATIONS 1 to 1000000000, LEAF 0 to 0xffffffff"},
    {"pio", KQ_STEP_PIO, 1, 1, {ARG_COUNT}, "pio ITERATIONS, 1 to 1000000000"},
    {"spin", KQ_STEP_SPIN, 1, 1, {ARG_DURATION}, "spin DURATION (1us to 1h, e.g. 5ms)"},
    {"touch",
     KQ_STEP_TOUCH,
     1,
     2,
     {ARG_SIZE, ARG_SIZE},
     "touch SIZE [STRIDE], sizes from 1 byte to 256G, STRIDE at most SIZE"},
    {"sync", KQ_STEP_SYNC, 1, 1, {ARG_TAG}, "sync TAG, 0 and up"},
};

const char *kq_step_op_name(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

/* 0 with *out in its range; -1 when w is no value of its kind or out of range. */
static int parse_arg(enum arg_kind kind, const char *w, uint64_t *out)
{
	double d;
	int64_t i;
	uint64_t v;
	if (kind == ARG_DURATION) {
		/* Compared in seconds first: microseconds of a huge value overflow. */
		if (kq_parse_duration_s(w, &d) < 0 || d > ranges[kind].max / 1e6)
			return -1;
		v = (uint64_t)(d * 1e6 + 0.5);
	} else if (kind == ARG_SIZE) {
		if (kq_parse_size(w, &v) < 0)
			return -1;
	} else {
		if (kq_parse_int(w, &i) < 0 || i < 0)
			return -1;
		v = (uint64_t)i;
	}
	if (v < ranges[kind].min || v > ranges[kind].max)
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
			    parse_arg(ops[k].kind[nargs], a, &s->arg[nargs]) < 0) {
				snprintf(err, errlen, "step %d: bad argument '%s' (usage: %s)",
					 n + 1, a, ops[k].usage);
				return -1;
			}
			nargs++;
		}
		if (s->op == KQ_STEP_TOUCH && nargs == 1)
			s->arg[1] = KQ_STEP_TOUCH_STRIDE;
		if (nargs < ops[k].min_args) {
			snprintf(err, errlen, "step %d: missing argument (usage: %s)", n + 1,
				 ops[k].usage);
			return -1;
		}
		if (s->op == KQ_STEP_TOUCH && nargs == 2 && s->arg[1] > s->arg[0]) {
			snprintf(err, errlen,
				 "step %d: touch stride %llu is larger than its size %llu", n + 1,
				 (unsigned long long)s->arg[1], (unsigned long long)s->arg[0]);
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
