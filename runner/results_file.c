#include "runner/results_file.h"
#include "runner/commands.h"

#include <errno.h>
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

int kq_results_finish(json_t *doc)
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
	char finished[32];
	kq_utc_now(finished, sizeof(finished), false);
	json_t *run = json_object_get(doc, "run");
	json_object_set_new(run, "finished", json_string(finished));
	int code = fail ? KQ_EXIT_FAILED : KQ_EXIT_OK;
	json_object_set_new(run, "exit_code", json_integer(code));
	json_object_set_new(doc, "summary",
			    json_pack("{s:i, s:i, s:i, s:i}", "total", pass + fail + skip, "pass",
				      pass, "fail", fail, "skip", skip));
	return code;
}

int kq_results_write(const json_t *doc, const char *dir)
{
	char tmp[4096], path[4096];
	snprintf(tmp, sizeof(tmp), "%s/.results.json.tmp", dir);
	snprintf(path, sizeof(path), "%s/results.json", dir);
	if (json_dump_file(doc, tmp, JSON_INDENT(1) | JSON_REAL_PRECISION(12)) < 0)
		return -1;
	return rename(tmp, path);
}
