#include "core/steps_parse.h"
#include "core/parse.h"

#include <stdio.h>
#include <string.h>

/* What each argument is, with its range (documented in docs/suite-conf.md):
 * a step that cannot do what it says is refused here, never shrunk later. */
enum arg_kind { ARG_COUNT, ARG_LEAF, ARG_DURATION, ARG_SIZE, ARG_TAG };

static const struct {
	uint64_t min, max; /* counts, microseconds or bytes */
	const char *range;
} ranges[] = {
    [ARG_COUNT] = {1, 1000000000, "ITERATIONS is a whole number from 1 to 1000000000"},
    [ARG_LEAF] = {0, 0xffffffff, "LEAF is a whole number from 0 to 0xffffffff"},
    [ARG_DURATION] = {1, 600000000, "DURATION is from 1us to 10m (600 s)"},
    [ARG_SIZE] = {1, KQ_TEST_MEMORY_MAX, "SIZE and STRIDE are sizes from 1 byte to 256G"},
    [ARG_TAG] = {0, INT64_MAX, "TAG is a whole number from 0"},
};

static const struct {
	const char *name;
	uint32_t op;
	int min_args, max_args;
	enum arg_kind kind[2];
	const char *usage;
} ops[] = {
    {"cpuid", KQ_STEP_CPUID, 1, 2, {ARG_COUNT, ARG_LEAF}, "cpuid ITERATIONS [LEAF]"},
    {"pio", KQ_STEP_PIO, 1, 1, {ARG_COUNT}, "pio ITERATIONS"},
    {"spin", KQ_STEP_SPIN, 1, 1, {ARG_DURATION}, "spin DURATION (e.g. 5ms)"},
    {"touch", KQ_STEP_TOUCH, 1, 2, {ARG_SIZE, ARG_SIZE}, "touch SIZE [STRIDE]"},
    {"sync", KQ_STEP_SYNC, 1, 1, {ARG_TAG}, "sync TAG"},
};

const char *kq_step_op_name(uint32_t op)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

/* 0 with *out in range; -1 when w is no value of its kind; -2 when out of range. */
static int parse_arg(enum arg_kind kind, const char *w, uint64_t *out)
{
	double d;
	int64_t i;
	uint64_t v;
	if (kind == ARG_DURATION) {
		if (kq_parse_duration_s(w, &d) < 0)
			return -1;
		/* Compared in seconds first: the conversion must not overflow. */
		if (d * 1e6 + 0.5 > (double)ranges[kind].max + 1)
			return -2;
		v = (uint64_t)(d * 1e6 + 0.5);
	} else if (kind == ARG_SIZE) {
		if (kq_parse_size(w, &v) < 0)
			return -1;
	} else {
		if (kq_parse_int(w, &i) < 0)
			return -1;
		if (i < 0)
			return -2;
		v = (uint64_t)i;
	}
	if (v < ranges[kind].min || v > ranges[kind].max)
		return -2;
	*out = v;
	return 0;
}

int kq_steps_parse(const char *script, struct kq_step *steps, int max, char *err, size_t errlen)
{
	char buf[1024];
	/* A longer script would be cut silently by the copy. */
	if (strlen(script) >= sizeof(buf)) {
		snprintf(err, errlen, "script longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
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
			int r = nargs == ops[k].max_args
				    ? -1
				    : parse_arg(ops[k].kind[nargs], a, &s->arg[nargs]);
			if (r == -2) {
				snprintf(err, errlen, "step %d: '%s' out of range: %s", n + 1, a,
					 ranges[ops[k].kind[nargs]].range);
				return -1;
			}
			if (r < 0) {
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
