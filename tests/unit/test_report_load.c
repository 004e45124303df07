/* Reading results.json back: the shape check with its messages (file and
 * line:column for syntax, the field path for shape, the major version), the
 * accessors the reports use, metric pooling, and the text escapers. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/result.h"
#include "core/stats.h"
#include "reports/compare.h"
#include "reports/html.h"
#include "reports/results_load.h"
#include "reports/runset.h"
#include "core/strbuf.h"
#include "tests/tap.h"

#define FIX "tests/fixtures/results/"

static void test_good(void)
{
	static const char *good[] = {FIX "emulated-quick", FIX "nested-xeon/results.json",
				     FIX "minimal", FIX "minimal/"};
	char err[512];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		json_t *root = NULL;
		int rc = kq_results_load(good[i], &root, err, sizeof(err));
		if (!ok(rc == 0 && root, "loads %s", good[i]))
			printf("#   %s\n", err);
		json_decref(root);
	}
	char *p = kq_results_path(FIX "minimal/");
	is_str(p, FIX "minimal/results.json", "a folder resolves to its results.json");
	free(p);
}

static void test_bad(void)
{
	static const struct {
		const char *file, *want;
	} bad[] = {
	    {"syntax.json", "invalid/syntax.json:5:14: "},
	    {"wrong-type.json",
	     ": tests[1].metrics[0].stats.median: expected a number, got a string"},
	    {"major-2.json",
	     "schema_version \"2.0\" is not supported: this kvmqual reads major version 1"},
	    {"missing-host.json", ": host: required field is missing"},
	    {"value-and-stats.json", ": tests[0].metrics[0]: a metric has either \"value\" or"},
	    {"bad-environment.json", ": environment: unexpected value \"cloud\""},
	    {"bad-status.json", ": tests[0].status: unexpected value \"passed\""},
	    {"does-not-exist.json", "does-not-exist.json: No such file or directory"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char path[256], err[512] = "";
		json_t *root = (json_t *)1;
		snprintf(path, sizeof(path), FIX "invalid/%s", bad[i].file);
		int rc = kq_results_load(path, &root, err, sizeof(err));
		ok(rc == -1 && root == NULL, "refuses %s", bad[i].file);
		has_substr(err, bad[i].want, "%s: the message says where", bad[i].file);
		has_substr(err, bad[i].file, "%s: the message names the file", bad[i].file);
	}
}

static void test_check_paths(void)
{
	char err[512];
	json_t *root;
	kq_results_load(FIX "minimal", &root, err, sizeof(err));
	json_t *m = json_array_get(
	    json_object_get(json_array_get(json_object_get(root, "tests"), 0), "metrics"), 0);
	json_object_set_new(json_object_get(m, "labels"), "nested", json_object());
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0, "a label must be a scalar");
	has_substr(err,
		   "doc: tests[0].metrics[0].labels.nested: expected a string, number or boolean",
		   "label path in the message");
	json_object_del(json_object_get(m, "labels"), "nested");
	json_array_set_new(json_object_get(m, "samples"), 1, json_string("x"));
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "tests[0].metrics[0].samples[1]: expected a number",
		   "sample path in the message");
	json_array_set_new(json_object_get(m, "samples"), 1, json_real(2));
	json_object_set_new(root, "schema_version", json_string("1.7"));
	ok(kq_results_check(root, "doc", err, sizeof(err)) == 0, "a newer minor version is read");
	json_object_set_new(root, "schema_version", json_string("one"));
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "is not MAJOR.MINOR", "a malformed version is named");
	json_object_set_new(root, "schema_version", json_string("0.9"));
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "an older kvmqual wrote this file", "an older major version is refused");
	json_decref(root);
	json_t *arr = json_array();
	ok(kq_results_check(arr, "doc", err, sizeof(err)) != 0, "a document that is not an object");
	json_decref(arr);
}

static json_t *first_metric(json_t *root)
{
	return json_array_get(
	    json_object_get(json_array_get(json_object_get(root, "tests"), 0), "metrics"), 0);
}

/* Sets a metric's samples and the statistics they give. */
static void set_samples(json_t *m, const double *v, size_t n)
{
	struct kq_stats st;
	kq_stats_compute(v, n, &st);
	if (!isfinite(st.stddev)) /* squares of 1e308 overflow; JSON has no inf */
		st.stddev = 1e306;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_real(v[i]));
	json_object_set_new(m, "samples", a);
	json_object_set_new(m, "stats", kq_stats_json(&st));
}

static void test_consistency(void)
{
	char err[512];
	json_t *root;
	kq_results_load(FIX "minimal", &root, err, sizeof(err));
	json_t *m = first_metric(root), *st = json_object_get(m, "stats");
	json_int_t n = json_integer_value(json_object_get(st, "n"));
	ok(n > 0 && (size_t)n == json_array_size(json_object_get(m, "samples")),
	   "the fixture's n matches its samples");

	json_object_set_new(st, "n", json_integer(100000));
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0, "n larger than the samples");
	has_substr(err, "doc: tests[0].metrics[0].stats.n: 100000, but \"samples\" holds",
		   "the message names stats.n and the sample count");
	json_object_set_new(st, "n", json_integer(n));

	json_t *saved = json_deep_copy(json_object_get(m, "samples"));
	json_object_set_new(m, "samples", json_array());
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0, "empty samples with n > 0");
	has_substr(err, "stats.n: ", "empty samples: stats.n is named");
	json_object_set(m, "samples", saved);

	double med = json_number_value(json_object_get(st, "median"));
	json_object_set_new(st, "median", json_real(med * 1.01 + 1));
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0,
	   "a median the samples do not give");
	has_substr(err, "tests[0].metrics[0].stats.median: ", "median: the field path");
	has_substr(err, "but the samples give", "median: what the samples give");
	json_object_set_new(st, "median", json_real(med * (1 + 1e-12)));
	ok(kq_results_check(root, "doc", err, sizeof(err)) == 0,
	   "rounding in the last digits is fine");
	json_object_set_new(st, "median", json_real(med));
	json_object_set_new(st, "max", json_real(-1));
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0, "a max below the samples");
	has_substr(err, "stats.max: -1, but", "max: the field path");
	json_decref(saved);
	json_decref(root);

	kq_results_load(FIX "minimal", &root, err, sizeof(err));
	json_t *tests = json_object_get(root, "tests");
	json_array_append_new(tests, json_deep_copy(json_array_get(tests, 0)));
	size_t last = json_array_size(tests) - 1;
	ok(kq_results_check(root, "doc", err, sizeof(err)) != 0, "a duplicate test name");
	char want[128];
	snprintf(want, sizeof(want), "doc: tests[%zu].name: duplicate test name \"", last);
	has_substr(err, want, "duplicate: the field path");
	has_substr(err, "(first at tests[0])", "duplicate: where the first one is");
	json_decref(root);

	/* Missing and mistyped fields, found by json_unpack, keep their path. */
	kq_results_load(FIX "minimal", &root, err, sizeof(err));
	json_object_del(json_object_get(root, "run"), "id");
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "doc: run.id: required field is missing", "a missing nested field");
	json_object_set_new(json_object_get(root, "run"), "id", json_string("x"));
	json_object_set_new(json_object_get(root, "run"), "repeat", json_string("2"));
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "doc: run.repeat: expected an integer, got a string",
		   "a mistyped optional field");
	json_object_del(json_object_get(root, "run"), "repeat");
	json_object_set_new(json_object_get(json_object_get(root, "host"), "cpu"), "brand",
			    json_integer(7));
	kq_results_check(root, "doc", err, sizeof(err));
	has_substr(err, "doc: host.cpu.brand: expected a string, got an integer",
		   "the last field of a format");
	json_decref(root);
}

/* Samples near the limits of a double print as numbers a reader can take in. */
static void test_extremes(double scale_a, double scale_b)
{
	char err[512];
	json_t *a, *b;
	kq_results_load(FIX "minimal", &a, err, sizeof(err));
	kq_results_load(FIX "minimal", &b, err, sizeof(err));
	size_t n = json_array_size(json_object_get(first_metric(a), "samples"));
	double *small = calloc(n, sizeof(double)), *huge = calloc(n, sizeof(double));
	for (size_t i = 0; i < n; i++) {
		small[i] = scale_a * (1 - 0.01 * (double)(i % 3));
		huge[i] = scale_b * (1 - 0.01 * (double)(i % 3));
	}
	set_samples(first_metric(a), small, n);
	set_samples(first_metric(b), huge, n);
	free(small);
	free(huge);
	ok(kq_results_check(b, "doc", err, sizeof(err)) == 0, "samples of %g load (%s)", scale_b,
	   err);
	struct kq_runset rs = {0};
	kq_runset_add_json(&rs, a, "A", err, sizeof(err));
	kq_runset_add_json(&rs, b, "B", err, sizeof(err));
	struct kq_cmp_opts o;
	struct kq_cmp c;
	kq_cmp_opts_default(&o);
	o.resamples = 200;
	ok(kq_compare_build(&rs, &o, &c, err, sizeof(err)) == 0, "compare %g with %g", scale_a,
	   scale_b);
	struct kq_buf t = KQ_BUF_INIT;
	kq_compare_text(&c, &t);
	kq_compare_html(&c, &(struct kq_charts){0}, &t); /* every row, same ones too */
	const char *s = kq_buf_str(&t);
	size_t run = 0, longest = 0;
	for (const char *p = s; *p; p++) {
		run = (*p >= '0' && *p <= '9') ? run + 1 : 0;
		longest = run > longest ? run : longest;
	}
	ok(longest < 20, "no number of %zu digits in the text and HTML", longest);
	ok(strstr(s, "nan") == NULL, "no nan in the text and HTML");
	if (getenv("KQ_SHOW") || longest >= 20 || strstr(s, "nan"))
		printf("# %s\n", s);
	kq_buf_reset(&t);
	kq_compare_md(&c, &(struct kq_charts){0}, "charts", &t);
	ok(strstr(kq_buf_str(&t), "nan") == NULL, "no nan in the Markdown");
	kq_buf_free(&t);
	kq_compare_free(&c);
	kq_runset_free(&rs);
}

static void test_accessors(void)
{
	json_t *m = json_pack("{s:s,s:s,s:{s:s,s:i,s:f,s:b,s:s},s:s}", "name", "x", "unit", "ns",
			      "labels", "kind", "cpuid", "vcpus", 4, "ratio", 1.5, "ref", 1, "n",
			      "8", "handled_in", "kernel");
	char buf[64];
	is_str(kq_label(m, "kind", buf, sizeof(buf)), "cpuid", "string label");
	is_str(kq_label(m, "vcpus", buf, sizeof(buf)), "4", "integer label as text");
	is_str(kq_label(m, "ratio", buf, sizeof(buf)), "1.5", "real label as text");
	is_str(kq_label(m, "ref", buf, sizeof(buf)), "true", "boolean label as text");
	ok(kq_label(m, "nope", buf, sizeof(buf)) == NULL, "absent label");
	is_near(kq_label_num(m, "vcpus", -1), 4, 0, "numeric label");
	is_near(kq_label_num(m, "n", -1), 8, 0, "numeric label written as a string");
	is_near(kq_label_num(m, "kind", -1), -1, 0, "non-numeric label gives the default");
	is_str(kq_metric_handled_in(m), "kernel", "handled_in outside labels is read too");
	struct kq_buf b = KQ_BUF_INIT;
	static const char *const skip[] = {"vcpus", NULL};
	kq_labels_fmt(&b, m, skip, ",");
	is_str(kq_buf_str(&b), "kind=cpuid,n=8,ratio=1.5,ref=true", "labels sorted, skipped one");
	kq_buf_free(&b);
	json_decref(m);

	json_t *host =
	    json_pack("{s:s,s:{s:s},s:[s,s],s:[{s:i}],s:i,s:b}", "hostname", "h", "cpu", "brand",
		      "B", "flags", "a", "b", "numa", "mb", 7, "cores", 2, "smt", 0);
	is_str(kq_jpath_str(host, "cpu.brand", "?"), "B", "dotted path");
	is_str(kq_jpath_str(host, "cpu.model", "?"), "?", "dotted path, absent");
	json_t *flat = kq_flatten(host);
	is_int(json_array_size(flat), 6, "flattened host: six rows");
	is_str(json_string_value(json_array_get(json_array_get(flat, 1), 0)), "cpu.brand",
	       "nested key");
	is_str(json_string_value(json_array_get(json_array_get(flat, 2), 1)), "a, b",
	       "array of scalars joined");
	is_str(json_string_value(json_array_get(json_array_get(flat, 3), 0)), "numa[0].mb",
	       "array of objects indexed");
	is_str(json_string_value(json_array_get(json_array_get(flat, 5), 1)), "false", "boolean");
	json_decref(flat);
	json_decref(host);
}

static void test_pools(void)
{
	char err[256];
	json_t *root;
	kq_results_load(FIX "emulated-quick", &root, err, sizeof(err));
	json_t *t = json_array_get(json_object_get(root, "tests"), 5); /* exit.cpuid.scaling */
	is_str(kq_jstr(t, "name", ""), "exit.cpuid.scaling", "the scaling test");
	struct kq_pools p = {0};
	json_t *ms = json_object_get(t, "metrics"), *m;
	size_t i;
	json_array_foreach(ms, i, m)
	{
		char key[32];
		snprintf(key, sizeof(key), "vcpus=%g", kq_label_num(m, "vcpus", 0));
		kq_pools_add(&p, key, 0, t, m);
	}
	is_int(kq_pools_finish(&p), 0, "pools finish");
	is_int(p.n, 2, "two pools: 1 and 2 vCPUs");
	struct kq_pool *two = kq_pools_find(&p, "vcpus=2");
	ok(two && two->members == 2 && two->n == 12, "the 2-vCPU pool merges both vCPUs' samples");
	/* the pooled median of the 12 samples, sorted: ... 61770 62140 62890 63350 ...
	 * (6th and 7th values: 62140, 62890) -> 62515 */
	ok(two && fabs(two->stats.median - 62515) < 1e-9, "pooled median");
	ok(kq_pools_find(&p, "vcpus=3") == NULL, "no such pool");
	/* many pools: the index grows */
	for (int k = 0; k < 1000; k++) {
		char key[32];
		snprintf(key, sizeof(key), "k%d", k);
		kq_pools_add(&p, key, 0, t, json_array_get(ms, 0));
	}
	ok(p.n == 1002 && kq_pools_find(&p, "k999") && kq_pools_find(&p, "k0"),
	   "1002 pools, all found");
	kq_pools_free(&p);
	json_decref(root);
}

static void test_strbuf(void)
{
	struct kq_buf b = KQ_BUF_INIT;
	kq_buf_xml(&b, "<a href=\"x\">&'\x01</a>");
	is_str(kq_buf_str(&b), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;\xef\xbf\xbd&lt;/a&gt;",
	       "XML escaping");
	kq_buf_reset(&b);
	kq_buf_md(&b, "a|b_c*d\ne");
	is_str(kq_buf_str(&b), "a\\|b\\_c\\*d e", "Markdown cell escaping");
	kq_buf_reset(&b);
	kq_buf_csv(&b, "plain");
	kq_buf_putc(&b, ',');
	kq_buf_csv(&b, "a,b \"q\"");
	is_str(kq_buf_str(&b), "plain,\"a,b \"\"q\"\"\"", "CSV quoting");
	kq_buf_reset(&b);
	kq_buf_num(&b, 0.1);
	kq_buf_putc(&b, ' ');
	kq_buf_num(&b, 1234567.0);
	kq_buf_putc(&b, ' ');
	kq_buf_num(&b, 1.0 / 3.0);
	is_str(kq_buf_str(&b), "0.1 1234567 0.3333333333333333", "shortest round-trip numbers");
	kq_buf_reset(&b);
	kq_buf_human(&b, 39855, 4);
	kq_buf_putc(&b, ' ');
	kq_buf_human(&b, 1.04, 4);
	kq_buf_putc(&b, ' ');
	kq_buf_human(&b, 0.012345, 4);
	kq_buf_putc(&b, ' ');
	kq_buf_human(&b, 0, 4);
	kq_buf_putc(&b, ' ');
	kq_buf_human(&b, 2.5e10, 3);
	is_str(kq_buf_str(&b), "39855 1.04 0.01235 0 2.50e+10", "numbers for people");
	kq_buf_reset(&b);
	for (int i = 0; i < 10000; i++)
		kq_buf_printf(&b, "%04d", i % 10000);
	ok(b.len == 40000 && !b.failed && strncmp(b.p + 39996, "9999", 4) == 0, "grows past 40 KB");
	char path[] = "/tmp/kq-strbuf-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	char err[256];
	ok(kq_buf_save(&b, path, err, sizeof(err)) == 0, "saves to a file");
	FILE *f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	is_int(ftell(f), 40000, "the file has every byte");
	fclose(f);
	unlink(path);
	ok(kq_buf_save(&b, "/nonexistent-dir/x", err, sizeof(err)) != 0,
	   "an unwritable path fails");
	has_substr(err, "/nonexistent-dir/x", "and says which");

	/* A FIFO (like /dev/null or a pipe) is written in place, never replaced
	 * by a renamed temporary file. */
	char dir[] = "/tmp/kq-fifo-XXXXXX", fifo[64];
	ok(mkdtemp(dir) != NULL, "a temporary folder");
	snprintf(fifo, sizeof(fifo), "%s/out", dir);
	ok(mkfifo(fifo, 0600) == 0, "a FIFO in it");
	pid_t reader = fork();
	if (reader == 0) {
		char buf[4096];
		long total = 0;
		ssize_t n;
		int in = open(fifo, O_RDONLY);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			total += n;
		_exit(total == 40000 ? 0 : 1);
	}
	ok(kq_buf_save(&b, fifo, err, sizeof(err)) == 0, "saves into a FIFO");
	struct stat st;
	bool still_fifo = stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode);
	if (!still_fifo)
		kill(reader, SIGKILL); /* it waits for a writer that never came */
	int wst = 0;
	waitpid(reader, &wst, 0);
	ok(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "whose reader got every byte");
	ok(still_fifo, "and it is still a FIFO, not a file");
	unlink(fifo);
	rmdir(dir);
	kq_buf_free(&b);
}

int main(void)
{
	if (access(FIX "minimal/results.json", R_OK) != 0) {
		const char *src = getenv("KQ_SRCDIR");
		if (!src || chdir(src) != 0) {
			tap_skip_all(
			    "run from the source tree (or set KQ_SRCDIR) to find the fixtures");
			return 0;
		}
	}
	test_good();
	test_bad();
	test_check_paths();
	test_consistency();
	test_extremes(2, 1e300);       /* a change of 5e301 % */
	test_extremes(1e308, 0.9e308); /* medians of two near-DBL_MAX samples overflow */
	test_accessors();
	test_pools();
	test_strbuf();
	return done_testing();
}
