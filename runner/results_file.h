/* results.json of a run (docs/results-schema.md), rewritten atomically after
 * every test so an interrupted run still leaves what it measured. */
#ifndef KQ_RUNNER_RESULTS_FILE_H
#define KQ_RUNNER_RESULTS_FILE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define KQ_RESULTS_SCHEMA_VERSION "1.0"

/* A new run document with tool, run, environment and host filled in. */
json_t *kq_results_new(int argc, char **argv, const char *conf, bool quick, int repeat,
		       const char *environment, json_t *host);
void kq_results_add_test(json_t *doc, json_t *test);
/* Sets summary, finish time and exit code; returns the exit code: 0 or 1,
 * or 128 + STOP_SIGNAL when a signal stopped the run (then run.interrupted
 * names it). */
/* Counts the tests so far into "summary": the results.json written after
 * every test is then valid too, so that a run killed outright (a second
 * signal, SIGKILL) leaves a readable file; it lacks run.finished. */
void kq_results_summarise(json_t *doc);
int kq_results_finish(json_t *doc, int stop_signal);
/* Writes DIR/results.json whole or not at all (core/outfile.h); 0, or -1
 * with a message naming the file and errno in err. */
int kq_results_write(const json_t *doc, const char *dir, char *err, size_t errlen);
/* ISO 8601 UTC timestamp of now, in buf. */
void kq_utc_now(char *buf, size_t len, bool compact);

#endif
