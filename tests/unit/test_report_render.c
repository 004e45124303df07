/* The report's HTML and Markdown, the compare outputs, and the chart layer:
 * which charts a results set gets, gnuplot missing or failing, and the
 * inline SVG (when gnuplot is installed). tests/report/report-html.sh checks
 * the pages in a real browser. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reports/chart.h"
#include "reports/chart_plot.h"
#include "reports/compare.h"
#include "reports/report.h"
#include "reports/results_load.h"
#include "reports/runset.h"
#include "tests/tap.h"

#define FIX "tests/fixtures/results/"

static bool has_kind(const struct kq_runset *rs, const char *id)
{
	for (size_t i = 0; i < kq_chart_nkinds; i++)
		if (strcmp(kq_chart_kinds[i]->id, id) == 0)
			return kq_chart_kinds[i]->has_data(rs);
	return false;
}

static bool gnuplot_available(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static void test_predicates(void)
{
	struct kq_runset emu = {0}, min = {0};
	char err[512];
	kq_runset_add(&emu, FIX "emulated-quick", err, sizeof(err));
	kq_runset_add(&min, FIX "minimal", err, sizeof(err));
	ok(has_kind(&emu, "exit-latency") && has_kind(&emu, "latency-cdf") &&
	       has_kind(&emu, "scaling") && has_kind(&emu, "reference-ratio"),
	   "the emulated fixture has data for every chart kind");
	ok(has_kind(&min, "exit-latency") && has_kind(&min, "latency-cdf"),
	   "the minimal fixture has exit latencies");
	ok(!has_kind(&min, "scaling"), "no vcpus labels: no scaling chart");
	ok(!has_kind(&min, "reference-ratio"), "no ratio metrics: no ratio chart");
	for (size_t i = 0; i < kq_chart_nkinds; i++)
		ok(kq_chart_kinds[i]->id && kq_chart_kinds[i]->summary && kq_chart_kinds[i]->render,
		   "chart kind %s is complete", kq_chart_kinds[i]->id);
	kq_runset_free(&emu);
	kq_runset_free(&min);
}

static void test_html_md(void)
{
	struct kq_runset rs = {0};
	char err[512];
	kq_runset_add(&rs, FIX "emulated-quick", err, sizeof(err));
	/* a test name that would be markup */
	json_t *t = json_array_get(json_object_get(rs.runs[0].root, "tests"), 0);
	json_object_set_new(t, "name", json_string("<script>alert(1)</script>"));
	struct kq_charts none = {0};
	struct kq_buf b = KQ_BUF_INIT;
	kq_report_html(&rs, &none, &b);
	const char *h = kq_buf_str(&b);
	ok(strncmp(h, "<!DOCTYPE html>\n<html lang=\"en\">", 31) == 0, "an HTML5 document");
	ok(strstr(h, "<script") == NULL, "no script element, even from a test's name");
	has_substr(h, "&lt;script&gt;alert(1)&lt;/script&gt;", "the name is escaped");
	has_substr(h, "<p class=\"banner\">Emulated host", "the emulated-host banner");
	has_substr(h, "<section id=\"summary\">", "summary section");
	has_substr(h, "<section id=\"host\">", "host section");
	has_substr(h, "<td>cpu.brand</td><td>QEMU TCG CPU version 2.5+</td>",
		   "host fingerprint rows");
	has_substr(h, "<section id=\"tests\">", "tests section");
	has_substr(h, "<section id=\"charts\">", "charts section");
	has_substr(h, "These results hold nothing to chart.", "no charts given: said so");
	has_substr(h, "<section id=\"metrics\">", "metrics section");
	has_substr(h, "FAILED: mmio.ns median &lt;= 80000: observed 81322", "the failed check");
	has_substr(h, "<b>1</b>failed", "summary counts");
	has_substr(h, "@media print", "print styles");
	ok(strstr(h, "http://") == NULL && strstr(h, "https://") == NULL,
	   "nothing fetched from elsewhere");
	has_substr(h, "</footer>\n</body>\n</html>\n", "a complete document");

	kq_buf_reset(&b);
	kq_report_md(&rs, &none, "charts", &b);
	const char *m = kq_buf_str(&b);
	has_substr(m, "## kvmqual: kq-sandbox (emulated): 7 passed, 1 failed, 1 skipped\n",
		   "Markdown headline");
	has_substr(m, "> **Emulated host:**", "Markdown emulated note");
	has_substr(m, "| exit.mmio | mmio.ns median 81322 > limit 80000 |", "failed table row");
	has_substr(m, "| vm.create | create\\_to\\_first\\_exit.us |  | us | 8 | 8288 | 9551 |  |",
		   "metrics table row, escaped");
	kq_buf_free(&b);
	kq_runset_free(&rs);
}

static void test_compare_out(void)
{
	struct kq_runset rs = {0};
	char err[512];
	kq_runset_add(&rs, FIX "emulated-quick", err, sizeof(err));
	kq_runset_add(&rs, FIX "nested-xeon", err, sizeof(err));
	struct kq_cmp_opts o;
	struct kq_cmp c;
	kq_cmp_opts_default(&o);
	is_int(kq_compare_build(&rs, &o, &c, err, sizeof(err)), 0, "compare the two fixtures");
	struct kq_buf b = KQ_BUF_INIT;
	kq_compare_text(&c, &b);
	const char *t = kq_buf_str(&b);
	has_substr(t, "host differences (", "text: host differences");
	ok(strstr(t, "host differences") < strstr(t, "B vs A:"),
	   "text: host differences come first");
	has_substr(t, "  environment: A \"emulated\" | B \"nested\"\n", "text: the environment");
	has_substr(
	    t,
	    "  cpu.brand: A \"QEMU TCG CPU version 2.5+\" | B \"Intel(R) Xeon(R) Platinum 8480+\"",
	    "text: the CPU");
	has_substr(t, "  exit.mmio: A fail B pass\n", "text: status changes");
	has_substr(t, "better", "text: the nested host is faster");
	has_substr(t, "seeded with 1 through splitmix64", "text: the seed is stated");
	has_substr(t, "verdict: no gated metric regressed\n", "text: verdict");
	kq_buf_reset(&b);
	struct kq_charts none = {0};
	kq_compare_html(&c, &none, &b);
	const char *h = kq_buf_str(&b);
	ok(strstr(h, "<section id=\"hosts\">") &&
	       strstr(h, "<section id=\"hosts\">") < strstr(h, "<section id=\"changes\">"),
	   "HTML: host differences before the changes");
	ok(strstr(h, "<script") == NULL, "HTML: no script");
	has_substr(h, "<section id=\"method\">", "HTML: method section");
	kq_buf_reset(&b);
	kq_compare_md(&c, &none, "charts", &b);
	const char *m = kq_buf_str(&b);
	has_substr(m, "## kvmqual compare: no gated metric regressed\n", "Markdown headline");
	ok(strstr(m, "### Host differences") < strstr(m, "### B vs A"), "Markdown: hosts first");
	kq_buf_free(&b);
	kq_compare_free(&c);
	kq_runset_free(&rs);
}

static void test_charts(void)
{
	struct kq_runset rs = {0};
	char err[512], dir[] = "/tmp/kq-charts-XXXXXX";
	kq_runset_add(&rs, FIX "emulated-quick", err, sizeof(err));
	ok(mkdtemp(dir) != NULL, "a folder for PNGs");
	struct kq_chart_opts o = {.svg = true, .png = true, .png_dir = dir};
	struct kq_charts c;

	setenv("KQ_GNUPLOT", "/nonexistent/gnuplot", 1);
	is_int(kq_charts_render(&rs, &o, &c, err, sizeof(err)), 0,
	       "gnuplot missing: still succeeds");
	has_substr(c.error, "charts are left out", "gnuplot missing: said once");
	ok(c.n > 0 && !c.v[0].svg, "gnuplot missing: charts listed, none drawn");
	kq_charts_free(&c);

	setenv("KQ_GNUPLOT", "false", 1);
	kq_charts_render(&rs, &o, &c, err, sizeof(err));
	ok(c.n > 0 && c.v[0].error && strstr(c.v[0].error, "exited with status 1"),
	   "gnuplot failing: each chart carries the error");
	kq_charts_free(&c);
	unsetenv("KQ_GNUPLOT");

	if (!gnuplot_available()) {
		ok(1, "# SKIP gnuplot is not installed");
	} else {
		is_int(kq_charts_render(&rs, &o, &c, err, sizeof(err)), 0, "gnuplot draws");
		ok(!c.error, "no global error");
		is_int(c.n, 6, "six charts for the emulated fixture");
		bool all = true, prefixed = true, marked = true, clean = true;
		for (size_t i = 0; i < c.n; i++) {
			struct stat st;
			all &= c.v[i].svg && c.v[i].png && !c.v[i].error &&
			       stat(c.v[i].png, &st) == 0 && st.st_size > 1000;
			if (!c.v[i].svg)
				continue;
			char pfx[32];
			snprintf(pfx, sizeof(pfx), "id='c%zu-", i);
			prefixed &= strstr(c.v[i].svg, pfx) != NULL;
			marked &=
			    strstr(c.v[i].svg, "emulated host: timings not representative") != NULL;
			clean &= strncmp(c.v[i].svg, "<svg class=\"chart\"", 18) == 0 &&
				 !strstr(c.v[i].svg, "<?xml") && !strstr(c.v[i].svg, "<script");
		}
		ok(all, "every chart has its SVG and a PNG file");
		ok(prefixed, "SVG ids are prefixed per chart");
		ok(marked, "every chart marks the emulated host");
		ok(clean, "inline SVG: no XML prolog, no script");
		is_str(c.v[0].id, "exit-latency-ns", "the first chart: exit latency in ns");
		has_substr(c.v[0].svg, "latency per exit (ns)", "axis label with the unit");
		has_substr(c.v[0].svg, "handled in userspace",
			   "kernel and userspace distinguished");
		kq_charts_free(&c);
	}
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ok(system(cmd) == 0, "clean up");
	kq_runset_free(&rs);
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
	test_predicates();
	test_html_md();
	test_compare_out();
	test_charts();
	return done_testing();
}
