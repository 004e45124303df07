/* JUnit, KTAP and CSV exports: structure, counts, messages and escaping.
 * (tests/report/export.sh validates the JUnit against tests/report/junit.xsd
 * with xmllint and feeds the KTAP to prove.) */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/export.h"
#include "reports/results_load.h"
#include "reports/runset.h"
#include "tests/tap.h"

#define FIX "tests/fixtures/results/"

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_fixture(void)
{
	struct kq_runset rs = {0};
	char err[512];
	struct kq_buf b = KQ_BUF_INIT;
	if (!ok(kq_runset_add(&rs, FIX "emulated-quick", err, sizeof(err)) == 0,
		"load the fixture"))
		return;
	const struct kq_run *r = &rs.runs[0];

	kq_export_junit(r, &b);
	const char *x = kq_buf_str(&b);
	has_substr(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ",
		   "XML declaration");
	has_substr(x, "tests=\"9\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"25.290\"",
		   "totals over every suite");
	has_substr(
	    x, "<testsuite name=\"exits\" tests=\"6\" failures=\"1\" errors=\"0\" skipped=\"0\"",
	    "a suite per first group");
	has_substr(
	    x, "<testsuite name=\"memory\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"1\"",
	    "the memory suite");
	is_int(count(x, "<testsuite "), 3, "three suites: exits, memory, quick");
	is_int(count(x, "<testcase "), 9, "each test once");
	has_substr(x, "timestamp=\"2026-11-26T16:00:00\"", "timestamp without the zone");
	has_substr(x, "<property name=\"environment\" value=\"emulated\"/>",
		   "environment property");
	has_substr(
	    x,
	    "<testcase name=\"memory.hugetlb-1g\" classname=\"kvmqual.memory\" time=\"0.000\">\n"
	    "      <skipped message=\"no 1G hugepages reserved",
	    "skipped with its reason");
	has_substr(x,
		   "<failure message=\"mmio.ns median 81322 &gt; limit 80000\" type=\"threshold\">"
		   "check failed: mmio.ns median &lt;= 80000, observed 81322\n",
		   "failure with message, failed check and diagnostics");
	has_substr(x, "<system-out>cpuid.cycles{handled_in=kernel,kind=cpuid}: n=12 median=99450",
		   "metrics in system-out");

	kq_buf_reset(&b);
	kq_export_ktap(r, &b);
	const char *k = kq_buf_str(&b);
	ok(strncmp(k, "KTAP version 1\n", 15) == 0, "KTAP header first");
	has_substr(k, "\n1..3\n", "plan: one line per suite");
	has_substr(k, "    KTAP version 1\n    # Subtest: exits\n    1..6\n",
		   "a subtest block per suite");
	has_substr(k, "    # mmio.ns median 81322 > limit 80000\n",
		   "the reason before the failed result");
	has_substr(k, "    not ok 3 exit.mmio\n", "failed test");
	has_substr(k, "not ok 1 exits\n", "a suite with a failure fails");
	has_substr(k, "    ok 2 memory.hugetlb-1g # SKIP no 1G hugepages", "skip directive");
	has_substr(k, "ok 2 memory\n", "a suite with a skip and passes passes");

	kq_buf_reset(&b);
	kq_export_csv(r, &b);
	const char *c = kq_buf_str(&b);
	ok(strncmp(c,
		   "run_id,environment,hostname,test,groups,status,metric,unit,labels,n,min,max,"
		   "median,mean,p99,stddev,value\r\n",
		   101) == 0,
	   "CSV header");
	is_int(count(c, "\r\n"), 18, "a row per metric (17) and the header");
	has_substr(c,
		   "20261126T160000Z,emulated,kq-sandbox,exit.cpuid,exits;quick,pass,cpuid.ns,ns,"
		   "handled_in=kernel;kind=cpuid,12,38424,45020,39855,",
		   "a sampled metric row");
	has_substr(
	    c, ",exit.cpuid,exits;quick,pass,ratio_vs_reference,ratio,kind=cpuid,,,,,,,,1.04\r\n",
	    "a value row");
	kq_buf_free(&b);
	kq_runset_free(&rs);
}

static void test_escaping(void)
{
	json_t *root = json_pack(
	    "{s:s,s:{s:s,s:s},s:{s:s,s:s},s:s,s:{s:s,s:{s:s},s:{s:s,s:s}},s:[{s:s,s:s,s:s,s:[s],"
	    "s:[{s:s,s:s,s:{s:s},s:f}]},{s:s,s:s,s:s}]}",
	    "schema_version", "1.0", "tool", "name", "kvmqual", "version", "0.1.0", "run", "id",
	    "r,1", "started", "2026-11-26T16:00:00Z", "environment", "nested", "host", "hostname",
	    "h\"q", "kernel", "release", "6", "cpu", "vendor", "v", "brand", "b", "tests", "name",
	    "a<b>&\"c\" # x", "status", "fail", "reason", "bad ]]> \x01 thing\nline two", "groups",
	    "g&g", "metrics", "name", "m,1", "unit", "ns", "labels", "k", "v\"w", "value", 2.0,
	    "name", "no-groups", "status", "skip", "reason", "");
	char err[256];
	struct kq_runset rs = {0};
	ok(kq_results_check(root, "doc", err, sizeof(err)) == 0,
	   "odd names are still valid results");
	kq_runset_add_json(&rs, root, "doc", err, sizeof(err));
	struct kq_buf b = KQ_BUF_INIT;
	kq_export_junit(&rs.runs[0], &b);
	const char *x = kq_buf_str(&b);
	has_substr(
	    x, "<testcase name=\"a&lt;b&gt;&amp;&quot;c&quot; # x\" classname=\"kvmqual.g&amp;g\"",
	    "names escaped in attributes");
	has_substr(x, "message=\"bad ]]&gt; \xef\xbf\xbd thing\nline two\"",
		   "control characters replaced");
	has_substr(x, "<testsuite name=\"ungrouped\"", "a test without groups goes to 'ungrouped'");
	has_substr(x, "<skipped message=\"skipped\"/>", "an empty skip reason still has a message");
	kq_buf_reset(&b);
	kq_export_ktap(&rs.runs[0], &b);
	const char *k = kq_buf_str(&b);
	has_substr(k, "    not ok 1 a<b>&\"c\" _ x\n", "'#' in a KTAP name becomes '_'");
	has_substr(k, "    # bad ]]> \x01 thing\n    # line two\n",
		   "multi-line reasons become # lines");
	kq_buf_reset(&b);
	kq_export_csv(&rs.runs[0], &b);
	has_substr(kq_buf_str(&b),
		   "\"r,1\",nested,\"h\"\"q\",\"a<b>&\"\"c\"\" # x\",g&g,fail,\"m,1\",ns,"
		   "\"k=v\"\"w\",,,,,,,,2\r\n",
		   "CSV fields quoted where needed");
	kq_buf_free(&b);
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
	test_fixture();
	test_escaping();
	return done_testing();
}
