/* suite.conf parsing: good input, and each kind of bad input with its
 * file:line message; a file with any error yields no tests. */
#include "runner/conf.h"
#include "vmm/memory.h"
#include "vmm/vm.h"
#include "tests/tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct kq_param_spec demo_params[] = {
    {"count", KQ_PT_INT, "a whole number"},
    {"ratio", KQ_PT_DOUBLE, "a number"},
    {"flag", KQ_PT_BOOL, "yes or no"},
    {"size", KQ_PT_SIZE, "a size"},
    {NULL, 0, NULL},
};
static void demo_run(const struct kq_driver *d, const struct kq_test *t,
		     const struct kq_run_opts *o, struct kq_result *r)
{
}
static const struct kq_driver demo = {
    .name = "unit.demo", .summary = "for the parser test", .params = demo_params, .run = demo_run};
KQ_DRIVER(demo)

static char path[64];

static int load_bytes(struct kq_suite *s, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");
	fwrite(text, 1, len, f);
	fclose(f);
	return kq_suite_load(s, path);
}

static int load(struct kq_suite *s, const char *text)
{
	return load_bytes(s, text, strlen(text));
}

/* Expects the load to have failed with "FILE:LINE: ...needle". */
static void refused(struct kq_suite *s, int r, const char *file, const char *what, int line,
		    const char *needle)
{
	char want[256];
	snprintf(want, sizeof(want), "%s:%d: ", file, line);
	ok(r < 0 && s->ntests == 0 && s->tests == NULL, "%s: refused, no tests kept", what);
	has_substr(s->errors, want, "%s: names the line", what);
	has_substr(s->errors, needle, "%s: says what is wrong", what);
	kq_suite_free(s);
}

/* Loads text, expects failure with "path:LINE: ...needle". */
static void bad(const char *what, const char *text, int line, const char *needle)
{
	struct kq_suite s;
	int r = load(&s, text);
	refused(&s, r, path, what, line, needle);
}

static bool same_params(const struct kq_test *a, const struct kq_test *b)
{
	if (a->nparams != b->nparams || strcmp(a->workload, b->workload) != 0 ||
	    strcmp(a->requires, b->requires) != 0)
		return false;
	for (int i = 0; i < a->nparams; i++)
		if (strcmp(a->params[i].key, b->params[i].key) != 0 ||
		    strcmp(a->params[i].value, b->params[i].value) != 0)
			return false;
	return true;
}

/* suite.conf carries the default probe profile: the two must not drift. */
static void same_probe_sections(const struct kq_suite *suite)
{
	struct kq_suite prof;
	if (!ok(kq_suite_load(&prof, "profiles/default.conf") == 0,
		"profiles/default.conf loads (%s)", prof.errors))
		return;
	int in_suite = 0;
	for (int i = 0; i < suite->ntests; i++)
		in_suite += strncmp(suite->tests[i].name, "probe.", 6) == 0;
	is_int(in_suite, prof.ntests,
	       "suite.conf has as many probe sections as the default profile");
	for (int i = 0; i < prof.ntests; i++) {
		const struct kq_test *t = kq_suite_find(suite, prof.tests[i].name);
		ok(t && same_params(t, &prof.tests[i]),
		   "suite.conf [%s] matches profiles/default.conf", prof.tests[i].name);
	}
	kq_suite_free(&prof);
}

/* Every duration and size has a range, checked when the file loads. */
static void ranges(void)
{
	bad("time_limit past 64-bit nanoseconds", "[x]\nworkload = unit.demo\ntime_limit = 1e11\n",
	    3, "time_limit = '1e11': expected a duration from 100ms to 86400 s");
	bad("time_limit infinite in seconds", "[x]\nworkload = unit.demo\ntime_limit = 1e308m\n", 3,
	    "time_limit = '1e308m': expected a duration");
	bad("time_limit of a nanosecond", "[x]\nworkload = unit.demo\ntime_limit = 1e-9\n", 3,
	    "time_limit = '1e-9': expected a duration");
	bad("time_goal under 1ms", "[x]\nworkload = unit.demo\ntime_goal = 10us\n", 3,
	    "time_goal = '10us': expected a duration from 1ms to 600 s");
	bad("quick_time_goal over 600 s", "[x]\nworkload = unit.demo\nquick_time_goal = 11m\n", 3,
	    "quick_time_goal = '11m': expected a duration from 1ms to 600 s");
	bad("memory of 1T", "[x]\nworkload = unit.demo\nmemory = 1T\n", 3,
	    "memory = '1T': expected a size from 4K to 256G");
	bad("memory under a page", "[x]\nworkload = unit.demo\nmemory = 1K\n", 3,
	    "memory = '1K': expected a size from 4K to 256G");
	bad("touch larger than memory", "[x]\nmemory = 1M\nsteps = cpuid 1; touch 16M 4K\n", 3,
	    "step 2 touches 16777216 bytes, more than `memory` (1048576 bytes, line 2)");
	bad("touch without memory", "[x]\nsteps = touch 4K\n", 2,
	    "step 1 touches 4096 bytes of test memory, and [x] has none");
	bad("touch stride larger than its size", "[x]\nmemory = 1M\nsteps = touch 4K 8K\n", 3,
	    "step 1: touch stride 8192 is larger than its size 4096");
	bad("spin past 64-bit microseconds", "[x]\nsteps = spin 1e300s\n", 2,
	    "step 1: bad argument '1e300s' (usage: spin DURATION (1us to 1h");
	bad("spin of nothing", "[x]\nsteps = spin 0.1us\n", 2, "bad argument '0.1us'");
	bad("cpuid zero times", "[x]\nsteps = cpuid 0\n", 2, "ITERATIONS 1 to 1000000000");
	bad("cpuid leaf past 32 bits", "[x]\nsteps = cpuid 1 0x100000000\n", 2,
	    "LEAF 0 to 0xffffffff");
	struct kq_suite s;
	int r = load(&s, "[x]\nworkload = unit.demo\ntime_limit = 86400\ntime_goal = 1ms\n"
			 "memory = 256G\n[y]\nmemory = 4K\nsteps = touch 4K; spin 60m\n");
	ok(r == 0, "the ends of each range are accepted (%s)", s.errors);
	kq_suite_free(&s);
}

/* Files that are no suite: each a file:line error, and no tests. */
static void not_suites(void)
{
	bad("an empty file", "", 1, "no [section] in the file");
	bad("a comments-only file", "# one\n; two\n\n", 3, "no [section] in the file");
	struct kq_suite s;
	int r = kq_suite_load(&s, "tests");
	refused(&s, r, "tests", "a folder", 0, "is a folder, not a suite file");
	r = load_bytes(&s, "[x]\nworkload = unit.demo\ndescr\0iption = a\n", 42);
	refused(&s, r, path, "a NUL byte inside a line", 3,
		"NUL byte at byte offset 30 (column 6)");
	r = kq_suite_load(&s, "/dev/zero");
	refused(&s, r, "/dev/zero", "/dev/zero (endless NUL bytes)", 1,
		"NUL byte at byte offset 0 (column 1)");
	size_t big = KQ_CONF_MAX_BYTES + 4096;
	char *text = malloc(big + 1);
	for (size_t i = 0; i < big; i += 64)
		snprintf(text + i, 65, "%-63s\n", "# a comment line");
	r = load_bytes(&s, text, big);
	free(text);
	refused(&s, r, path, "a file past the size bound", KQ_CONF_MAX_BYTES / 64 + 1,
		"more than 1048576 bytes");
	bad("workload and steps in one section", "[x]\nworkload = exit.cpuid\nsteps = cpuid 10\n",
	    3,
	    "steps: a step script is the test's workload; drop `workload = exit.cpuid` (line 2)");
	bad("workload steps without a script", "[x]\nworkload = steps\n", 2,
	    "workload steps needs a `steps = ...` script");
	bad("a section without keys", "[ghost]\n[x]\nworkload = unit.demo\n", 1,
	    "[ghost]: empty section");
	bad("a repeated empty section", "[g]\n# nothing\n[g]\n", 3,
	    "duplicate section [g] (first at line 1)");
	bad("default = maybe", "[x]\nworkload = unit.demo\ndefault = maybe\n", 3,
	    "default = 'maybe': expected yes or no");
	r = load(&s, "[x]\nworkload = steps\nsteps = pio 1\n");
	ok(r == 0, "workload = steps with its script is accepted (%s)", s.errors);
	kq_suite_free(&s);
}

/* A selection that runs nothing is an error, as a name or group that matches none. */
static void selection(void)
{
	struct kq_suite s;
	if (!ok(load(&s, "[a]\nworkload = unit.demo\ngroups = g1\ndefault = no\n"
			 "[b]\nworkload = unit.demo\ndefault = no\n") == 0,
		"two tests, both not default (%s)", s.errors))
		return;
	bool sel[2];
	char err[512];
	const char *g1 = "g1", *nosuch = "nosuch", *b = "b";
	is_int(kq_suite_select(&s, NULL, 0, &g1, 1, sel, err, sizeof(err)), 1,
	       "group g1: one test");
	ok(sel[0] && !sel[1], "and it is [a]");
	is_int(kq_suite_select(&s, &b, 1, NULL, 0, sel, err, sizeof(err)), 1, "by name: one test");
	is_int(kq_suite_select(&s, NULL, 0, &nosuch, 1, sel, err, sizeof(err)), -1,
	       "a group that matches nothing is an error");
	has_substr(err, "no test in group 'nosuch'", "naming the group");
	is_int(kq_suite_select(&s, NULL, 0, NULL, 0, sel, err, sizeof(err)), -1,
	       "a default selection of nothing is an error");
	has_substr(err, "nothing selected", "saying so");
	kq_suite_free(&s);
}

/* The default suite.conf outside the current folder: the message says where it looked. */
static void default_lookup(void)
{
	char here[4096], dir[] = "/tmp/kq-conf-cwd-XXXXXX";
	if (!getcwd(here, sizeof(here)) || !mkdtemp(dir) || chdir(dir) < 0) {
		ok(0, "a fresh current folder");
		return;
	}
	struct kq_suite s;
	int r = kq_suite_load(&s, "suite.conf");
	char bin[4200];
	snprintf(bin, sizeof(bin), "%s/build", here); /* build/ or build-san/ */
	ok(r < 0 && strstr(s.errors, bin), "the message names the binary's folder");
	refused(&s, r, "suite.conf", "no suite.conf here or beside the binary", 0,
		"not found; looked in /tmp/kq-conf-cwd-");
	ok(chdir(here) == 0 && rmdir(dir) == 0, "back in %s", here);
	r = kq_suite_load(&s, "suite.conf");
	ok(r == 0, "the default loads from the current folder (%s)", s.errors);
	is_str(s.path, "suite.conf", "and names it as given");
	kq_suite_free(&s);
}

/* Many sections (each read into its own allocation, then gathered into one
 * array): every one kept in order with its own line and keys. */
static void many_sections(void)
{
	enum { N = 600 };
	char *text = malloc(N * 64);
	size_t len = 0;
	for (int i = 0; text && i < N; i++)
		len +=
		    (size_t)sprintf(text + len, "[t%d]\nworkload = unit.demo\ncount = %d\n", i, i);
	struct kq_suite s;
	int r = text ? load_bytes(&s, text, len) : -1;
	free(text);
	ok(r == 0 && s.ntests == N, "%d sections load (%s)", N, r == 0 ? "" : s.errors);
	bool all = r == 0;
	for (int i = 0; all && i < N; i++) {
		char name[16];
		snprintf(name, sizeof(name), "t%d", i);
		const struct kq_test *t = kq_suite_find(&s, name);
		all = t == &s.tests[i] && t->line == 3 * i + 1 &&
		      kq_test_param_int(t, "count", -1) == i;
	}
	ok(all, "each section keeps its name, line and keys");
	kq_suite_free(&s);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/kq-conf-%d.conf", (int)getpid());
	struct kq_suite s;
	int r = load(&s, "# comment\n"
			 "[a.one]\n"
			 "workload = unit.demo\n"
			 "groups = exits smoke\n"
			 "vcpus = 4\n"
			 "memory = 64M\n"
			 "backing = thp\n"
			 "page_size = 2M\n"
			 "pin = 0,1,2,3\n"
			 "time_limit = 30s\n"
			 "time_goal = 500ms\n"
			 "requires = IMMEDIATE_EXIT MSR_FILTER\n"
			 "count = -3\n"
			 "ratio = 0.25\n"
			 "flag = yes\n"
			 "size = 2G\n"
			 "max.cpuid.ns.median = 1500\n"
			 "min.ratio_vs_reference.value = 0.5\n"
			 "\n"
			 "[b.two]\n"
			 "groups = steps\n"
			 "default = no\n"
			 "memory = 1M\n"
			 "steps = cpuid 10 1; spin 5ms\n"
			 "  pio 3; touch 1M 4K\n");
	ok(r == 0, "a good file loads (%s)", s.errors);
	is_int(s.ntests, 2, "two tests");
	const struct kq_test *t = kq_suite_find(&s, "a.one");
	ok(t != NULL, "found by name");
	if (t) {
		is_str(t->workload, "unit.demo", "workload");
		ok(kq_test_in_group(t, "smoke") && !kq_test_in_group(t, "steps"), "groups");
		is_int(t->vcpus, 4, "vcpus");
		is_int(t->mem_bytes, 64 << 20, "memory 64M");
		is_int(t->backing, KQ_BACK_THP, "backing thp");
		is_int(t->page_size, KQ_PG_2M, "page_size 2M");
		ok(t->pin == KQ_PIN_LIST && t->npin_cpus == 4 && t->pin_cpus[3] == 3, "pin list");
		is_near(t->time_limit_s, 30, 0, "time_limit 30s");
		is_near(t->time_goal_ms, 500, 1e-9, "time_goal 500ms");
		is_int(kq_test_param_int(t, "count", 0), -3, "workload int parameter");
		is_near(kq_test_param_double(t, "ratio", 0), 0.25, 0, "workload double parameter");
		ok(kq_test_param_bool(t, "flag", false), "workload bool parameter");
		is_int(kq_test_param_size(t, "size", 0), 2ULL << 30, "workload size parameter");
		is_int(kq_test_param_int(t, "absent", 77), 77,
		       "absent parameter gives the default");
		is_int(t->nthresholds, 2, "two thresholds");
		is_str(t->thresholds[0].metric, "cpuid.ns", "threshold metric may contain dots");
		is_str(t->thresholds[0].stat, "median", "threshold statistic");
		ok(t->thresholds[0].is_max && !t->thresholds[1].is_max, "max and min thresholds");
	}
	t = kq_suite_find(&s, "b.two");
	if (t) {
		is_str(t->workload, "steps",
		       "a test with steps and no workload runs the step script");
		ok(t->default_off, "default = no");
		has_substr(t->steps, "spin 5ms; pio 3; touch 1M 4K",
			   "an indented line continues the steps");
		is_int(t->nsteps, 4, "the step script is parsed when the suite loads");
		ok(t->nsteps == 4 && t->step_ops[0].op == KQ_STEP_CPUID &&
		       t->step_ops[3].op == KQ_STEP_TOUCH,
		   "parsed steps keep their order");
	}
	kq_suite_free(&s);

	bad("unknown key", "[x]\nworkload = unit.demo\nbogus = 1\n", 3,
	    "unknown key 'bogus' for workload unit.demo");
	bad("bad workload value", "[x]\nworkload = unit.demo\ncount = many\n", 3,
	    "count = 'many': expected a whole number");
	bad("bad vcpus", "[x]\nworkload = unit.demo\nvcpus = 0\n", 3, "vcpus = '0'");
	bad("bad backing", "[x]\nworkload = unit.demo\nbacking = ramdisk\n", 3,
	    "expected anon, thp");
	bad("bad size", "[x]\nworkload = unit.demo\nmemory = 12Q\n", 3, "memory = '12Q'");
	bad("bad bool", "[x]\nworkload = unit.demo\nflag = maybe\n", 3, "expected yes or no");
	bad("unknown workload", "[x]\nworkload = exit.nonsense\n", 2, "unknown workload");
	bad("duplicate section",
	    "[x]\nworkload = unit.demo\n[y]\nworkload = unit.demo\n[x]\nworkload = unit.demo\n", 5,
	    "duplicate section [x] (first at line 1)");
	bad("duplicate key", "[x]\nworkload = unit.demo\ncount = 1\ncount = 2\n", 4,
	    "duplicate key 'count' (first at line 3)");
	bad("no workload", "[x]\ngroups = a\n", 1, "no workload");
	bad("key outside a section", "workload = unit.demo\n", 1, "outside any [section]");
	bad("syntax error", "[x]\nworkload = unit.demo\nthis is not ini\n", 3, "syntax error");
	bad("bad step", "[x]\nsteps = cpuid 10; jump 3\n", 2, "step 2: unknown op 'jump'");
	bad("bad threshold statistic", "[x]\nworkload = unit.demo\nmax.cpuid.ns.average = 3\n", 3,
	    "unknown statistic 'average'");
	bad("unknown capability", "[x]\nworkload = unit.demo\nrequires = WARP_DRIVE\n", 3,
	    "unknown KVM capability 'WARP_DRIVE'");
	bad("pin list too short", "[x]\nworkload = unit.demo\nvcpus = 2\npin = 1\n", 4,
	    "pin lists 1 CPUs for 2 vCPUs");
	char longline[400];
	snprintf(longline, sizeof(longline), "[x]\nworkload = unit.demo\ndescription = %0300d\n",
		 0);
	bad("over-long line", longline, 3, "line longer than");

	ranges();
	not_suites();
	selection();
	default_lookup();

	ok(kq_suite_load(&s, "/nonexistent/suite.conf") < 0, "a missing file is an error");
	has_substr(s.errors, "/nonexistent/suite.conf:0: cannot open", "naming the file");
	ok(kq_suite_load(&s, "suite.conf") == 0, "the shipped suite.conf loads (%s)", s.errors);
	same_probe_sections(&s);
	kq_suite_free(&s);
	unlink(path);
	many_sections();
	return done_testing();
}
