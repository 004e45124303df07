/* The streaming reader of results.json (reports/results_stream.c) against
 * the whole-document one: the same documents accepted, the same tests in
 * the same order, the same messages (field paths, duplicates, line:column),
 * and the first error the whole document would report, wherever it is. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reports/results_load.h"
#include "reports/results_stream.h"
#include "tests/tap.h"

#define FIX "tests/fixtures/results/"

struct seen {
	json_t *tests;	/* what the callback got, copied */
	size_t stop_at; /* fail at this index (SIZE_MAX: never) */
};

static int collect(void *ctx, size_t index, json_t *test, char *err, size_t errlen)
{
	struct seen *s = ctx;
	if (index == s->stop_at) {
		snprintf(err, errlen, "stopped at %zu", index);
		return -1;
	}
	json_array_append_new(s->tests, json_deep_copy(test));
	return 0;
}

/* Both readers on PATH: returns whether they agree, their message in err. */
static bool agree(const char *path, char *err, size_t errlen)
{
	char werr[1024] = "";
	json_t *root = NULL, *head = NULL;
	struct seen s = {.tests = json_array(), .stop_at = SIZE_MAX};
	int wrc = kq_results_load(path, &root, werr, sizeof(werr));
	int src = kq_results_stream(path, &head, collect, &s, err, errlen);
	bool same = wrc == src;
	if (same && wrc != 0 && strcmp(werr, err) != 0) {
		printf("#   whole:  %s\n#   stream: %s\n", werr, err);
		same = false;
	}
	if (same && wrc == 0) {
		same = json_equal(json_object_get(root, "tests"), s.tests);
		json_object_set_new(root, "tests", json_array());
		same = same && json_equal(root, head);
	}
	if (wrc != 0)
		snprintf(err, errlen, "%s", werr);
	json_decref(root);
	json_decref(head);
	json_decref(s.tests);
	return same;
}

static const char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/kq-stream-%d.json", (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		return NULL;
	return path;
}

static void test_fixtures(void)
{
	static const char *good[] = {"emulated-quick",	"nested-xeon",	      "minimal",
				     "memory-emulated", "isolation-emulated", "emulated-migration"};
	static const char *bad[] = {"bad-environment", "bad-status",	"major-2",
				    "missing-host",    "syntax",	"value-and-stats",
				    "wrong-type",      "does-not-exist"};
	char path[256], err[1024];
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(path, sizeof(path), FIX "%s", good[i]);
		ok(agree(path, err, sizeof(err)), "%s: streamed as read whole", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), FIX "invalid/%s.json", bad[i]);
		ok(agree(path, err, sizeof(err)) && err[0], "invalid/%s: the same message", bad[i]);
	}
}

#define HEAD "{" HEADB
#define HEADB                                                                                      \
	"\"schema_version\":\"1.0\",\"tool\":{\"name\":\"kvmqual\",\"version\":\"1\"},"            \
	"\"run\":{\"id\":\"r\",\"started\":\"s\"},\"environment\":\"nested\","                     \
	"\"host\":{\"hostname\":\"h\",\"kernel\":{\"release\":\"6\"},"                             \
	"\"cpu\":{\"vendor\":\"v\",\"brand\":\"b\"}}"
#define T(name) "{\"name\":\"" name "\",\"status\":\"pass\"}"
#define M(stats_median)                                                                            \
	"{\"name\":\"x\",\"status\":\"pass\",\"metrics\":[{\"name\":\"m\",\"unit\":\"ns\","        \
	"\"stats\":{\"n\":2,\"min\":1,\"max\":3,\"median\":" stats_median                          \
	",\"mean\":2,\"p99\":3,\"stddev\":1},\"samples\":[1,3]}]}"

static void test_documents(void)
{
	static const struct {
		const char *doc, *want; /* want: NULL accepted, else in the message */
	} docs[] = {
	    {HEAD ",\"tests\":[" T("a") "," T("b") "]}", NULL},
	    {" \n\t" HEAD " , \"tests\" : [ " T("a") " , " T("b") " ] \r\n} \n", NULL},
	    {HEAD ",\"tests\":[]}", NULL},
	    {"{\"tests\":[" T("a") "]," HEADB "}", NULL},
	    {HEAD ",\"tests\":[" M("2") "]}", NULL},
	    {HEAD ",\"tests\":[" T("a") "," T("b") "," T("a") "]}",
	     ": tests[2].name: duplicate test name \"a\" (first at tests[0])"},
	    {HEAD ",\"tests\":[" M("2.5") "]}",
	     ": tests[0].metrics[0].stats.median: 2.5, but the samples give 2"},
	    {HEAD ",\"tests\":[" T("a") ",{\"name\":\"b\",\"status\":\"passed\"}]}",
	     ": tests[1].status: unexpected value \"passed\""},
	    {HEAD ",\"tests\":[" T("a") ",7]}", ": tests[1]: expected an object, got an integer"},
	    /* a test's error, then a syntax error: the whole document fails on the syntax */
	    {HEAD ",\"tests\":[" T("a") ",7," T("b") " x]}", ":1:"},
	    /* a test's error, then a bad field after the tests: the field comes first */
	    {"{\"tests\":[7],\"schema_version\":\"1.0\"}", ": tool: required field is missing"},
	    {HEAD ",\"tests\":[" T("a") "],\"summary\":{\"total\":-1,\"pass\":0,\"fail\":0,"
					"\"skip\":0}}",
	     ": summary.total: must not be negative"},
	    {HEAD ",\"tests\":{}}", ": tests: expected an array, got an object"},
	    {HEAD "}", ": tests: required field is missing"},
	    {HEAD ",\"tests\":[" T("a") "]} x", ":1:"},
	    {HEAD ",\"tests\":[" T("a") ",]}", ":1:"},
	    {HEAD ",\"tests\":[" T("a") "],\"tests\":[]}", "duplicate object key"},
	    {HEAD ",\"tests\":[" T("a") "]", ":1:"},
	    {HEAD ",\"tests\":[" T("a") "] \"x\":1}", ":1:"},
	    {HEAD ",\"tests\":[{\"name\":\"a\",\"name\":\"b\",\"status\":\"pass\"}]}",
	     "duplicate object key"},
	    {"[1]", "the document is an array, expected an object"},
	    {"", ":1:0: "},
	    {"{}", ": schema_version: required field is missing"},
	};
	char err[1024];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		const char *path = write_tmp(docs[i].doc);
		if (!ok(path != NULL, "document %zu written", i))
			continue;
		bool same = agree(path, err, sizeof(err));
		if (docs[i].want)
			ok(same && strstr(err, docs[i].want) && strstr(err, path),
			   "document %zu: refused by both, the same message naming the place (%s)",
			   i, err);
		else
			ok(same && !err[0], "document %zu: accepted by both, the same tests (%s)",
			   i, err);
		unlink(path);
	}
}

/* Nested 2046 levels deep in a test, the whole document is 2048 deep: the
 * most jansson takes; one more and both refuse it. */
static void test_depth(void)
{
	char err[1024];
	for (size_t extra = 0; extra < 2; extra++) {
		/* the document, "tests", a test, then ARRAYS arrays around a number */
		size_t arrays = 2044 + extra;
		size_t len = strlen(HEAD) + 64 + 2 * arrays + 64;
		char *doc = malloc(len), *p = doc;
		p += sprintf(p, "%s,\"tests\":[{\"name\":\"a\",\"status\":\"pass\",\"x\":", HEAD);
		for (size_t i = 0; i < arrays; i++)
			*p++ = '[';
		*p++ = '1';
		for (size_t i = 0; i < arrays; i++)
			*p++ = ']';
		strcpy(p, "}]}");
		const char *path = write_tmp(doc);
		bool same = path && agree(path, err, sizeof(err));
		ok(same && (extra ? strstr(err, "maximum parsing depth") != NULL : !err[0]),
		   "%s levels: %s by both", extra ? "2049" : "2048", extra ? "refused" : "read");
		if (path)
			unlink(path);
		free(doc);
	}
}

/* A NUL byte, which jansson reads as the end of the text: refused by both
 * readers with its line, column and byte (found by fuzzing, where the two
 * disagreed). */
static void test_nul(void)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want;
	} docs[] = {
	    {"{\"a\": 1\0}", 9, ":1:8: a NUL byte (byte 7)"},
	    {"{\"schema_version\": \"0.0\",\n\"x\": 1.5\0\n}", 37, ":2:9: a NUL byte (byte 34)"},
	    {"{\"a\": x\0}", 9, ":1:7: invalid token near 'x'"}, /* jansson's error comes first */
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		char path[64], err[512];
		snprintf(path, sizeof(path), "/tmp/kq-stream-nul-%d.json", (int)getpid());
		FILE *f = fopen(path, "w");
		bool written = f && fwrite(docs[i].text, 1, docs[i].len, f) == docs[i].len;
		if (f && fclose(f) != 0)
			written = false;
		bool same = written && agree(path, err, sizeof(err));
		ok(same && strstr(err, docs[i].want) != NULL, "NUL document %zu: %s", i, err);
		unlink(path);
	}
}

static void test_callback_stops(void)
{
	char err[256];
	json_t *head = (json_t *)1;
	struct seen s = {.tests = json_array(), .stop_at = 1};
	int rc = kq_results_stream(FIX "nested-xeon", &head, collect, &s, err, sizeof(err));
	ok(rc == -1 && head == NULL, "a callback's failure stops the reading");
	is_str(err, "stopped at 1", "...with the callback's message");
	is_int(json_array_size(s.tests), 1, "...after the tests before it");
	json_decref(s.tests);
}

int main(void)
{
	if (!tap_in_srcdir(FIX "minimal/results.json"))
		return 0;
	test_fixtures();
	test_documents();
	test_depth();
	test_nul();
	test_callback_stops();
	return done_testing();
}
