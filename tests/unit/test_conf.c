/* suite.conf parsing: good input, and each kind of bad input with its
 * file:line message; a file with any error yields no tests. */
#include "runner/conf.h"
#include "vmm/memory.h"
#include "vmm/vm.h"
#include "tests/tap.h"

#include <stdlib.h>
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

static int load(struct kq_suite *s, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return kq_suite_load(s, path);
}

/* Loads text, expects failure with "path:LINE: ...needle". */
static void bad(const char *what, const char *text, int line, const char *needle)
{
	struct kq_suite s;
	int r = load(&s, text);
	char want[256];
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	ok(r < 0 && s.ntests == 0 && s.tests == NULL, "%s: refused, no tests kept", what);
	has_substr(s.errors, want, "%s: names the line", what);
	has_substr(s.errors, needle, "%s: says what is wrong", what);
	kq_suite_free(&s);
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

	ok(kq_suite_load(&s, "/nonexistent/suite.conf") < 0, "a missing file is an error");
	has_substr(s.errors, "/nonexistent/suite.conf:0: cannot open", "naming the file");
	ok(kq_suite_load(&s, "suite.conf") == 0, "the shipped suite.conf loads (%s)", s.errors);
	same_probe_sections(&s);
	kq_suite_free(&s);
	unlink(path);
	return done_testing();
}
