#include "runner/results_file.h"
#include "runner/commands.h"

#include "core/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void kq_utc_now(char *buf, size_t len, bool compact)
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *kq_results_new(int argc, char **argv, const char *conf, bool quick, int repeat,
		       const char *environment, json_t *host)
{
	char id[32], started[32];
	kq_utc_now(id, sizeof(id), true);
	kq_utc_now(started, sizeof(started), false);
	json_t *args = json_array();
	json_array_append_new(args, json_string("kvmqual"));
	for (int i = 0; i < argc; i++)
		json_array_append_new(args, json_string(argv[i]));
	return json_pack(
	    "{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:o, s:s, s:b, s:i}, s:s, s:o, s:[], s:{}}",
	    "schema_version", KQ_RESULTS_SCHEMA_VERSION, "tool", "name", "kvmqual", "version",
	    KQ_VERSION, "run", "id", id, "started", started, "argv", args, "conf", conf, "quick",
	    quick, "repeat", repeat, "environment", environment, "host",
	    host ? host : json_object(), "tests", "summary");
}

void kq_results_add_test(json_t *doc, json_t *test)
{
	json_array_append(json_object_get(doc, "tests"), test);
}

void kq_results_summarise(json_t *doc)
{
	int pass = 0, fail = 0, skip = 0;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(doc, "tests"), i, t)
	{
		const char *s = json_string_value(json_object_get(t, "status"));
		if (strcmp(s, "pass") == 0)
			pass++;
		else if (strcmp(s, "skip") == 0)
			skip++;
		else
			fail++;
	}
	json_object_set_new(doc, "summary",
			    json_pack("{s:i, s:i, s:i, s:i}", "total", pass + fail + skip, "pass",
				      pass, "fail", fail, "skip", skip));
}

int kq_results_finish(json_t *doc, int stop_signal)
{
	kq_results_summarise(doc);
	int fail =
	    (int)json_integer_value(json_object_get(json_object_get(doc, "summary"), "fail"));
	char finished[32];
	kq_utc_now(finished, sizeof(finished), false);
	json_t *run = json_object_get(doc, "run");
	json_object_set_new(run, "finished", json_string(finished));
	int code = fail ? KQ_EXIT_FAILED : KQ_EXIT_OK;
	if (stop_signal) {
		code = KQ_EXIT_SIGNAL + stop_signal;
		const char *abbrev = sigabbrev_np(stop_signal);
		json_object_set_new(run, "interrupted",
				    json_pack("{s:s+, s:i}", "signal", "SIG", abbrev ? abbrev : "?",
					      "number", stop_signal));
	}
	json_object_set_new(run, "exit_code", json_integer(code));
	return code;
}

int kq_results_write(const json_t *doc, const char *dir, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/results.json", dir);
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
	if (!text) {
		snprintf(err, errlen, "cannot write %s: out of memory", path);
		return -1;
	}
	size_t len = strlen(text);
	text[len] = '\n'; /* json_dumps ends without one; the NUL is not written */
	int rc = kq_outfile_save(path, text, len + 1, err, errlen);
	free(text);
	return rc;
}
