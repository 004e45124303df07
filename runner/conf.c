#include "runner/conf.h"
#include "runner/commands.h"
#include "core/parse.h"
#include "core/stats.h"
#include "vmm/memory.h"
#include "vmm/vm.h"
#include "probes/kvm_caps.h"
#include "core/steps_parse.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct parse_ctx {
	struct kq_suite *s;
	const char *path;
	FILE *f;
	long offset;	   /* bytes read so far */
	int line;	   /* line the reader last returned */
	bool continuation; /* that line started with whitespace (inih multi-line) */
	bool too_long;
	bool stop;	   /* a NUL byte, a read error or too many bytes: read no further */
	char last_key[48]; /* the section's last key, for continuation lines */
	/* The sections read so far, one allocation each: a test is 15 KB, and
	 * an array grown as the file is read moved all of them again and again
	 * (and under ASan each growth was fresh pages). kq_suite_load makes
	 * suite->tests of them once the file is known to be valid. */
	struct kq_test **parsed;
	int nparsed, parsed_cap;
};

static void add_error(struct kq_suite *s, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_error(struct kq_suite *s, const char *path, int line, const char *fmt, ...)
{
	size_t used = strlen(s->errors);
	if (used + 2 >= sizeof(s->errors))
		return;
	int n = snprintf(s->errors + used, sizeof(s->errors) - used, "%s:%d: ", path, line);
	used += (size_t)(n > 0 ? n : 0);
	va_list ap;
	va_start(ap, fmt);
	if (used < sizeof(s->errors))
		n = vsnprintf(s->errors + used, sizeof(s->errors) - used, fmt, ap);
	va_end(ap);
	used = strlen(s->errors);
	if (used + 1 < sizeof(s->errors))
		strcat(s->errors, "\n");
	s->nerrors++;
}

static int new_section(struct parse_ctx *c, const char *name);

/* One byte of the file, or EOF; a NUL byte, a read error and a file past
 * KQ_CONF_MAX_BYTES are errors that end the reading (inih sees end of file). */
static int next_byte(struct parse_ctx *c, int column)
{
	int ch = getc(c->f);
	if (ch == EOF) {
		if (!ferror(c->f))
			return EOF;
		add_error(c->s, c->path, c->line, "read error: %s", strerror(errno));
	} else if (ch == '\0') {
		add_error(c->s, c->path, c->line,
			  "NUL byte at byte offset %ld (column %d): a suite file is text",
			  c->offset, column);
		ch = EOF;
	} else if (++c->offset > KQ_CONF_MAX_BYTES) {
		add_error(c->s, c->path, c->line, "more than %d bytes: no suite file is this large",
			  KQ_CONF_MAX_BYTES);
		ch = EOF;
	}
	if (ch == EOF)
		c->stop = true;
	return ch;
}

/* A "[name]" line as inih reads it: not a continuation of the previous key,
 * and a ']' before any inline comment. Sections start here, not at their
 * first key, so that a section without keys is seen too. */
static void track_section(struct parse_ctx *c, char *str)
{
	char *p = str + strspn(str, " \t");
	if (*p != '[' || (c->continuation && c->last_key[0]))
		return;
	char *end = p + 1;
	while (*end && *end != ']' && !(*end == ';' && (end[-1] == ' ' || end[-1] == '\t')))
		end++;
	if (*end != ']')
		return; /* inih reports it as a syntax error */
	char name[256];
	snprintf(name, sizeof(name), "%.*s", (int)(end - p - 1), p + 1);
	c->last_key[0] = '\0';
	new_section(c, name);
}

/* inih's line reader: fgets-like, but bounded and NUL-aware (strlen would
 * not see a NUL byte, and /dev/zero has no end). */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	if (c->stop)
		return NULL;
	c->line++;
	int len = 0, ch = 0;
	while (len < num - 1 && (ch = next_byte(c, len + 1)) != EOF) {
		str[len++] = (char)ch;
		if (ch == '\n')
			break;
	}
	str[len] = '\0';
	if (len == 0 || c->stop) {
		if (!c->stop)
			c->line--; /* end of file: no line was read */
		return NULL;
	}
	if (len == num - 1 && str[len - 1] != '\n' && (ch = next_byte(c, len + 1)) != EOF &&
	    ch != '\n') {
		c->too_long = true;
		add_error(
		    c->s, c->path, c->line,
		    "line longer than %d characters (continue a long value on indented lines)",
		    num - 2);
		int col = len + 1;
		while ((ch = next_byte(c, ++col)) != EOF && ch != '\n')
			;
		if (c->stop)
			return NULL;
	}
	c->continuation = str[0] == ' ' || str[0] == '\t';
	track_section(c, str);
	return str;
}

static struct kq_test *current(const struct parse_ctx *c)
{
	return c->nparsed ? c->parsed[c->nparsed - 1] : NULL;
}

static void test_defaults(struct kq_test *t)
{
	t->vcpus = 1;
	t->mem_bytes = 0;
	t->backing = KQ_BACK_ANON;
	t->page_size = KQ_PG_4K;
	t->pin = KQ_PIN_NONE;
	t->time_limit_s = 60;
	t->time_goal_ms = 1000;
	t->quick_time_goal_ms = 100;
}

static int new_section(struct parse_ctx *c, const char *name)
{
	struct kq_suite *s = c->s;
	for (int i = 0; i < c->nparsed; i++)
		if (strcmp(c->parsed[i]->name, name) == 0) {
			add_error(s, c->path, c->line, "duplicate section [%s] (first at line %d)",
				  name, c->parsed[i]->line);
			break;
		}
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p)) {
			add_error(s, c->path, c->line,
				  "section [%s]: test names use letters, digits, '.', '_' and '-'",
				  name);
			break;
		}
	if (strlen(name) >= sizeof(s->tests[0].name))
		add_error(s, c->path, c->line, "section [%s]: name longer than %zu characters",
			  name, sizeof(s->tests[0].name) - 1);
	struct kq_test *t = malloc(sizeof(*t));
	if (t && c->nparsed == c->parsed_cap) {
		int cap = c->parsed_cap ? 2 * c->parsed_cap : 16;
		struct kq_test **grown = realloc(c->parsed, (size_t)cap * sizeof(*grown));
		if (grown) {
			c->parsed = grown;
			c->parsed_cap = cap;
		}
	}
	if (!t || c->nparsed == c->parsed_cap) {
		free(t);
		add_error(s, c->path, c->line, "section [%s]: out of memory (%d tests)", name,
			  c->nparsed);
		c->stop = true;
		return 0;
	}
	c->parsed[c->nparsed++] = t;
	memset(t, 0, sizeof(*t));
	test_defaults(t);
	snprintf(t->name, sizeof(t->name), "%.*s", (int)sizeof(t->name) - 1,
		 name); /* cut: reported */
	snprintf(t->file, sizeof(t->file), "%s", c->path);
	t->line = c->line;
	return 1;
}

static int parse_groups(struct parse_ctx *c, struct kq_test *t, const char *v)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *save, *g = strtok_r(buf, " ,\t", &save); g; g = strtok_r(NULL, " ,\t", &save)) {
		if (t->ngroups == KQ_MAX_GROUPS || strlen(g) >= sizeof(t->groups[0])) {
			add_error(c->s, c->path, c->line,
				  "groups: at most %d names of %zu characters", KQ_MAX_GROUPS,
				  sizeof(t->groups[0]) - 1);
			return -1;
		}
		snprintf(t->groups[t->ngroups++], sizeof(t->groups[0]), "%s", g);
	}
	return 0;
}

static int parse_pin(struct parse_ctx *c, struct kq_test *t, const char *v)
{
	if (strcmp(v, "none") == 0)
		return t->pin = KQ_PIN_NONE, 0;
	if (strcmp(v, "compact") == 0)
		return t->pin = KQ_PIN_COMPACT, 0;
	if (strcmp(v, "spread") == 0)
		return t->pin = KQ_PIN_SPREAD, 0;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", v);
	t->pin = KQ_PIN_LIST;
	t->npin_cpus = 0;
	for (char *save, *p = strtok_r(buf, " ,", &save); p; p = strtok_r(NULL, " ,", &save)) {
		int64_t cpu;
		if (kq_parse_int(p, &cpu) < 0 || cpu < 0 || cpu >= 4096 ||
		    t->npin_cpus == KQ_MAX_CPUS)
			return -1;
		t->pin_cpus[t->npin_cpus++] = (int)cpu;
	}
	return t->npin_cpus ? 0 : -1;
}

static int parse_threshold(struct parse_ctx *c, struct kq_test *t, const char *key, const char *v)
{
	/* max.<metric>.<stat> or min.<metric>.<stat>; the metric may contain dots. */
	bool is_max = strncmp(key, "max.", 4) == 0;
	const char *metric = key + 4, *dot = strrchr(metric, '.');
	if (!dot || dot == metric) {
		add_error(c->s, c->path, c->line, "%s: expected %s.<metric>.<statistic>", key,
			  is_max ? "max" : "min");
		return -1;
	}
	if (!kq_stat_is_bound(dot + 1) && strcmp(dot + 1, "value") != 0) {
		add_error(c->s, c->path, c->line,
			  "%s: unknown statistic '%s' (median, mean, p99, min, max, stddev, value)",
			  key, dot + 1);
		return -1;
	}
	if (t->nthresholds == KQ_MAX_THRESH ||
	    (size_t)(dot - metric) >= sizeof(t->thresholds[0].metric)) {
		add_error(c->s, c->path, c->line, "%s: too many thresholds or metric name too long",
			  key);
		return -1;
	}
	struct kq_threshold *th = &t->thresholds[t->nthresholds];
	if (kq_parse_double(v, &th->limit) < 0) {
		add_error(c->s, c->path, c->line, "%s = '%s': not a number", key, v);
		return -1;
	}
	snprintf(th->metric, sizeof(th->metric), "%.*s", (int)(dot - metric), metric);
	snprintf(th->stat, sizeof(th->stat), "%s", dot + 1);
	th->is_max = is_max;
	th->line = c->line;
	t->nthresholds++;
	return 0;
}

/* Returns 0 when the key is generic (handled or reported), 1 when it belongs to the workload. */
static int generic_key(struct parse_ctx *c, struct kq_test *t, const char *k, const char *v)
{
	struct kq_suite *s = c->s;
	int64_t i;
	double d;
	uint64_t u;
	bool b;
	int e;
#define BAD(what) add_error(s, c->path, c->line, "%s = '%s': %s", k, v, what)
	if (strcmp(k, "workload") == 0) {
		if (!kq_driver_find(v))
			BAD("unknown workload (see `kvmqual list --workloads`)");
		snprintf(t->workload, sizeof(t->workload), "%s", v);
	} else if (strcmp(k, "groups") == 0) {
		parse_groups(c, t, v);
	} else if (strcmp(k, "default") == 0) {
		if (kq_parse_yes_no(v, &b) < 0)
			BAD("expected yes or no");
		else
			t->default_off = !b;
	} else if (strcmp(k, "description") == 0) {
		/* informative only */
	} else if (strcmp(k, "vcpus") == 0) {
		if (kq_parse_int(v, &i) < 0 || i < 1 || i > 64)
			BAD("expected a whole number from 1 to 64");
		else
			t->vcpus = (int)i;
	} else if (strcmp(k, "memory") == 0) {
		if (kq_parse_size(v, &u) < 0 || u < KQ_MEMORY_MIN || u > KQ_TEST_MEMORY_MAX)
			BAD("expected a size from 4K to 256G, such as 64M");
		else
			t->mem_bytes = u;
	} else if (strcmp(k, "backing") == 0) {
		if ((e = kq_backing_parse(v)) < 0)
			BAD("expected anon, thp, hugetlb-2m, hugetlb-1g or memfd");
		else
			t->backing = e;
	} else if (strcmp(k, "page_size") == 0) {
		if ((e = kq_page_size_parse(v)) < 0)
			BAD("expected 4K, 2M or 1G");
		else
			t->page_size = e;
	} else if (strcmp(k, "pin") == 0) {
		if (parse_pin(c, t, v) < 0)
			BAD("expected none, compact, spread or a list of CPU numbers");
	} else if (strcmp(k, "time_limit") == 0) {
		if (kq_parse_duration_s(v, &d) < 0 || d < KQ_TIME_LIMIT_MIN_S ||
		    d > KQ_TIME_LIMIT_MAX_S)
			BAD("expected a duration from 100ms to 86400 s (one day), such as 30 or "
			    "30s");
		else
			t->time_limit_s = d;
	} else if (strcmp(k, "time_goal") == 0 || strcmp(k, "quick_time_goal") == 0) {
		if (kq_parse_duration_s(v, &d) < 0 || d < KQ_TIME_GOAL_MIN_S ||
		    d > KQ_TIME_GOAL_MAX_S)
			BAD("expected a duration from 1ms to 600 s, such as 500ms");
		else if (k[0] == 't')
			t->time_goal_ms = d * 1e3;
		else
			t->quick_time_goal_ms = d * 1e3;
	} else if (strcmp(k, "requires") == 0) {
		if (strlen(v) >= sizeof(t->requires))
			BAD("too long");
		snprintf(t->requires, sizeof(t->requires), "%s", v);
		char buf[256], *save;
		snprintf(buf, sizeof(buf), "%s", v);
		for (char *n = strtok_r(buf, " ,", &save); n; n = strtok_r(NULL, " ,", &save))
			if (!kq_kvm_cap_by_name(n))
				add_error(
				    s, c->path, c->line,
				    "requires: unknown KVM capability '%s' (see `kvmqual probe`)",
				    n);
	} else if (strcmp(k, "steps") == 0) {
		if (strlen(v) >= sizeof(t->steps))
			BAD("too long");
		snprintf(t->steps, sizeof(t->steps), "%s", v);
	} else if (strncmp(k, "max.", 4) == 0 || strncmp(k, "min.", 4) == 0) {
		parse_threshold(c, t, k, v);
	} else {
		return 1;
	}
#undef BAD
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	struct kq_suite *s = c->s;
	struct kq_test *t = current(c); /* the reader opened it at its header line */
	if (!t || !section[0]) {
		add_error(s, c->path, c->line, "'%s' outside any [section]", name);
		return 1;
	}
	if (!name)
		return 1;
	if (c->continuation && strcmp(name, c->last_key) == 0) {
		/* An indented line continues the previous value: only steps grow. */
		if (strcmp(name, "steps") == 0) {
			size_t used = strlen(t->steps);
			if (used + strlen(value) + 2 >= sizeof(t->steps))
				add_error(s, c->path, c->line, "steps: script too long");
			else
				snprintf(t->steps + used, sizeof(t->steps) - used, "; %s", value);
		} else {
			add_error(s, c->path, c->line, "'%s' does not take a multi-line value",
				  name);
		}
		return 1;
	}
	snprintf(c->last_key, sizeof(c->last_key), "%s", name);
	if (strlen(name) >= sizeof(t->params[0].key)) {
		add_error(s, c->path, c->line, "key '%s' is too long", name);
		return 1;
	}
	for (int i = 0; i < t->nparams; i++)
		if (strcmp(t->params[i].key, name) == 0) {
			add_error(s, c->path, c->line, "duplicate key '%s' (first at line %d)",
				  name, abs(t->params[i].line));
			return 1;
		}
	if (generic_key(c, t, name, value) == 0) {
		/* Remember generic keys too, so duplicates are caught. */
		if (t->nparams < KQ_MAX_PARAMS) {
			struct kq_param *p = &t->params[t->nparams++];
			snprintf(p->key, sizeof(p->key), "%s", name);
			p->value[0] = 0;
			p->line = -c->line; /* negative: generic, not a workload parameter */
		}
		return 1;
	}
	if (t->nparams == KQ_MAX_PARAMS) {
		add_error(s, c->path, c->line, "too many keys in [%s]", section);
		return 1;
	}
	if (strlen(value) >= sizeof(t->params[0].value)) {
		add_error(s, c->path, c->line, "%s: value too long", name);
		return 1;
	}
	struct kq_param *p = &t->params[t->nparams++];
	snprintf(p->key, sizeof(p->key), "%s", name);
	snprintf(p->value, sizeof(p->value), "%s", value);
	p->line = c->line;
	return 1;
}

static int check_param_value(const struct kq_param_spec *sp, const char *v)
{
	int64_t i;
	double d;
	bool b;
	uint64_t u;
	switch (sp->type) {
	case KQ_PT_INT:
	case KQ_PT_U64:
		return kq_parse_int(v, &i) < 0 || (sp->type == KQ_PT_U64 && i < 0) ? -1 : 0;
	case KQ_PT_DOUBLE:
		return kq_parse_double(v, &d);
	case KQ_PT_BOOL:
		return kq_parse_yes_no(v, &b);
	case KQ_PT_SIZE:
		return kq_parse_size(v, &u);
	case KQ_PT_STRING:
		return 0;
	}
	return -1;
}

static const char *type_name(enum kq_param_type t)
{
	static const char *const n[] = {"text",	    "a whole number", "a non-negative whole number",
					"a number", "yes or no",      "a size such as 64M"};
	return n[t];
}

/* The line of a key (generic keys are kept negated among the params), else the section's. */
static int key_line(const struct kq_test *t, const char *key)
{
	for (int i = 0; key && i < t->nparams; i++)
		if (strcmp(t->params[i].key, key) == 0)
			return abs(t->params[i].line);
	return t->line;
}

/* A step script is a test's whole workload: it runs in the `steps` guest and
 * touches only the test's own memory, all of which it must fit. */
static void validate_steps(struct kq_suite *s, struct kq_test *t)
{
	int line = key_line(t, "steps");
	if (strcmp(t->workload, "steps") != 0) {
		add_error(s, t->file, line,
			  "steps: a step script is the test's workload; drop `workload = %s` "
			  "(line %d) or the steps",
			  t->workload, key_line(t, "workload"));
		return;
	}
	char err[256];
	t->nsteps = kq_steps_parse(t->steps, t->step_ops, KQ_MAX_STEPS_ABI, err, sizeof(err));
	if (t->nsteps < 0) {
		add_error(s, t->file, line, "steps: %s", err);
		t->nsteps = 0;
		return;
	}
	for (int i = 0; i < t->nsteps; i++) {
		const struct kq_step *st = &t->step_ops[i];
		if (st->op != KQ_STEP_TOUCH || st->arg[0] <= t->mem_bytes)
			continue;
		if (!t->mem_bytes)
			add_error(s, t->file, line,
				  "steps: step %d touches %llu bytes of test memory, and [%s] has "
				  "none: add `memory = SIZE`",
				  i + 1, (unsigned long long)st->arg[0], t->name);
		else
			add_error(s, t->file, line,
				  "steps: step %d touches %llu bytes, more than `memory` (%llu "
				  "bytes, line %d)",
				  i + 1, (unsigned long long)st->arg[0],
				  (unsigned long long)t->mem_bytes, key_line(t, "memory"));
	}
}

/* After the whole file: each test has a workload, and its keys are the driver's. */
static void validate(struct kq_suite *s, const struct parse_ctx *c)
{
	for (int ti = 0; ti < c->nparsed; ti++) {
		struct kq_test *t = c->parsed[ti];
		if (t->nparams == 0) {
			add_error(s, t->file, t->line,
				  "[%s]: empty section (a test needs a workload or steps)",
				  t->name);
			continue;
		}
		if (!t->workload[0] && t->steps[0])
			snprintf(t->workload, sizeof(t->workload), "steps");
		if (!t->workload[0]) {
			add_error(s, t->file, t->line, "[%s]: no workload (or steps) given",
				  t->name);
			continue;
		}
		const struct kq_driver *d = kq_driver_find(t->workload);
		if (!d)
			continue; /* already reported at its line */
		if (t->steps[0])
			validate_steps(s, t);
		else if (strcmp(t->workload, "steps") == 0)
			add_error(s, t->file, key_line(t, "workload"),
				  "[%s]: workload steps needs a `steps = ...` script", t->name);
		for (int i = 0; i < t->nparams; i++) {
			struct kq_param *p = &t->params[i];
			if (p->line < 0)
				continue;
			const struct kq_param_spec *sp = d->params;
			while (sp && sp->key && strcmp(sp->key, p->key) != 0)
				sp++;
			if (!sp || !sp->key) {
				add_error(s, t->file, p->line, "unknown key '%s' for workload %s",
					  p->key, t->workload);
				continue;
			}
			if (check_param_value(sp, p->value) < 0)
				add_error(s, t->file, p->line, "%s = '%s': expected %s", p->key,
					  p->value, type_name(sp->type));
		}
		if (t->mem_bytes % kq_page_size_bytes(t->page_size))
			add_error(s, t->file, key_line(t, "memory"),
				  "memory must be a multiple of page_size %s",
				  kq_page_size_name(t->page_size));
		char err[256];
		const char *key = NULL;
		if (d->validate && d->validate(t, err, sizeof(err), &key) < 0)
			add_error(s, t->file, key_line(t, key), "[%s]: %s", t->name, err);
		if (t->pin == KQ_PIN_LIST && t->npin_cpus < t->vcpus)
			add_error(s, t->file, key_line(t, "pin"), "pin lists %d CPUs for %d vCPUs",
				  t->npin_cpus, t->vcpus);
	}
}

static int open_suite(struct parse_ctx *c, const char *path)
{
	struct kq_suite *s = c->s;
	char looked[2048];
	if (strcmp(path, KQ_DEFAULT_CONF) != 0)
		snprintf(s->path, sizeof(s->path), "%s", path);
	else if (kq_suite_find_file(path, s->path, sizeof(s->path), looked, sizeof(looked)) < 0) {
		add_error(s, path, 0, "not found; looked in %s (give one with --conf FILE)",
			  looked);
		return -1;
	}
	c->path = s->path;
	c->f = fopen(s->path, "r");
	struct stat st;
	if (!c->f || fstat(fileno(c->f), &st) < 0) {
		add_error(s, s->path, 0, "cannot open: %s", strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		add_error(s, s->path, 0, "is a folder, not a suite file");
	} else {
		return 0;
	}
	if (c->f)
		fclose(c->f);
	return -1;
}

int kq_suite_load(struct kq_suite *s, const char *path)
{
	memset(s, 0, sizeof(*s));
	struct parse_ctx c = {.s = s};
	if (open_suite(&c, path) < 0)
		return -1;
	int r = ini_parse_stream(reader, &c, handler, &c);
	fclose(c.f);
	if (r > 0 && !c.too_long)
		add_error(s, c.path, r,
			  "syntax error (expected [section], key = value, or a comment)");
	else if (r < 0)
		add_error(s, c.path, 0, "parser failure (%d)", r);
	if (!c.nparsed && !s->nerrors)
		add_error(s, c.path, c.line ? c.line : 1,
			  "no [section] in the file: a suite declares at least one test");
	validate(s, &c);
	if (!s->nerrors && !(s->tests = malloc((size_t)c.nparsed * sizeof(*s->tests))))
		add_error(s, c.path, 0, "out of memory (%d tests)", c.nparsed);
	for (int i = 0; i < c.nparsed; i++) {
		if (!s->nerrors)
			s->tests[s->ntests++] = *c.parsed[i];
		free(c.parsed[i]);
	}
	free(c.parsed);
	return s->nerrors ? -1 : 0;
}

void kq_suite_free(struct kq_suite *s)
{
	free(s->tests);
	s->tests = NULL;
	s->ntests = 0;
}

const struct kq_test *kq_suite_find(const struct kq_suite *s, const char *name)
{
	for (int i = 0; i < s->ntests; i++)
		if (strcmp(s->tests[i].name, name) == 0)
			return &s->tests[i];
	return NULL;
}

bool kq_test_in_group(const struct kq_test *t, const char *group)
{
	for (int i = 0; i < t->ngroups; i++)
		if (strcmp(t->groups[i], group) == 0)
			return true;
	return false;
}

int kq_suite_select(const struct kq_suite *s, const char *const *tests, int ntests,
		    const char *const *groups, int ngroups, bool *sel, char *err, size_t errlen)
{
	size_t used = 0;
	err[0] = '\0';
#define PROBLEM(...)                                                                               \
	do {                                                                                       \
		if (used < errlen)                                                                 \
			used += (size_t)snprintf(err + used, errlen - used, __VA_ARGS__);          \
	} while (0)
	for (int k = 0; k < ntests; k++)
		if (!kq_suite_find(s, tests[k]))
			PROBLEM("no test named '%s' in %s\n", tests[k], s->path);
	int n = 0;
	for (int g = 0; g < ngroups; g++) {
		bool any = false;
		for (int i = 0; i < s->ntests; i++)
			any |= kq_test_in_group(&s->tests[i], groups[g]);
		if (!any)
			PROBLEM("no test in group '%s' in %s\n", groups[g], s->path);
	}
	for (int i = 0; i < s->ntests; i++) {
		const struct kq_test *t = &s->tests[i];
		sel[i] = !ntests && !ngroups && !t->default_off;
		for (int k = 0; k < ntests; k++)
			sel[i] |= strcmp(t->name, tests[k]) == 0;
		for (int g = 0; g < ngroups; g++)
			sel[i] |= kq_test_in_group(t, groups[g]);
		n += sel[i];
	}
	if (!n && !err[0])
		PROBLEM("nothing selected: every test in %s is marked `default = no` (select "
			"them by --test or --group)\n",
			s->path);
#undef PROBLEM
	return err[0] ? -1 : n;
}
