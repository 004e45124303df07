/* kvmqual: one binary, subcommands. */
#include "runner/commands.h"

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
	fprintf(f, "\nexit codes: 0 all passed, 1 a test failed, 2 bad usage or configuration,\n"
		   "3 this environment cannot run the suite\n");
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
		return KQ_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("kvmqual %s\n", KQ_VERSION);
		return KQ_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kvmqual: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return KQ_EXIT_USAGE;
}
