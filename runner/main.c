/* kvmqual: one binary, subcommands. */
#include "runner/commands.h"
#include "core/outfile.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
    {"list", kq_list_main, "list the tests declared in suite.conf"},
    {"run", kq_run_main, "run tests: TAP on stdout, results.json in the output folder"},
    {"probe", kq_probe_main, "describe this host: CPU, topology, KVM, kernel, mitigations"},
    {"report", kq_report_main, "render a results folder as HTML and Markdown with charts"},
    {"compare", kq_compare_main, "compare two or more runs, with a verdict for CI"},
    {"export", kq_export_main, "export results as JUnit XML, KTAP or CSV"},
    {"history", kq_history_main, "a metric across stored runs, with step changes found"},
    {"fleet", kq_fleet_main, "fleet report: hosts side by side, outliers and why"},
    {"db", kq_db_main, "store runs in the results database (SQLite or PostgreSQL)"},
    {"migrate", kq_migrate_main, "live-migrate a running guest between two kvmqual processes"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmqual COMMAND [ARGS]   (kvmqual COMMAND --help for each)\n\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\nexit codes: 0 all passed, 1 a test failed (compare: a metric regressed),\n"
		   "2 bad usage, configuration or input, 3 this environment cannot run the suite,\n"
		   "4 an output could not be written (disk full, standard output closed),\n"
		   "128+N stopped by signal N (129 SIGHUP, 130 SIGINT, 143 SIGTERM)\n");
}

/* What a command printed must have reached standard output: a full disk or
 * /dev/full behind it is an output failure, not a success. */
static int finish_stdout(int rc)
{
	int e = 0;
	bool earlier = false;
	if (fflush(stdout) != 0)
		e = errno;
	else if (ferror(stdout))
		earlier = true; /* a write failed while the command ran; its errno is gone */
	if (fclose(stdout) != 0 && !e && !earlier && errno != EBADF)
		e = errno;
	if (!e && !earlier)
		return rc;
	if (earlier)
		fprintf(stderr, "kvmqual: cannot write standard output: a write to it failed\n");
	else
		fprintf(stderr, "kvmqual: cannot write standard output: %s\n", strerror(e));
	return rc == KQ_EXIT_OK || rc == KQ_EXIT_FAILED ? KQ_EXIT_OUTPUT : rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return KQ_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return finish_stdout(KQ_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("kvmqual %s\n", KQ_VERSION);
		return finish_stdout(KQ_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0) {
			/* run stops its tests and writes what finished on a signal;
			 * the other commands remove their half-written files */
			if (strcmp(argv[1], "run") != 0)
				kq_outfile_on_signals();
			return finish_stdout(commands[i].fn(argc - 1, argv + 1));
		}
	fprintf(stderr, "kvmqual: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return KQ_EXIT_USAGE;
}
