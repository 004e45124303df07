/* kvmqual export RESULTS_DIR --junit FILE | --ktap FILE | --csv FILE */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/exit_codes.h"
#include "core/outfile.h"
#include "reports/cli.h"
#include "reports/export.h"
#include "reports/report_cmd.h"
#include "reports/runset.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: kvmqual %s RESULTS_DIR [--junit FILE] [--ktap FILE] [--csv FILE]\n"
		"\n"
		"Writes one run's results.json (RESULTS_DIR, or the file itself) for other tools;\n"
		"at least one output is needed, FILE \"-\" is standard output:\n"
		"  --junit FILE   JUnit XML: a testsuite per group, a testcase per test\n"
		"  --ktap FILE    KTAP version 1, a subtest block per group\n"
		"  --csv FILE     CSV, one row per metric\n"
		"  -h, --help     this text\n"
		"\n"
		"Files are written all or none: each to a temporary name, renamed into place\n"
		"only when every one was written.\n"
		"Exit status: 0 written, 2 bad usage or unreadable results, 4 an output could\n"
		"not be written.\n",
		prog);
}

int kq_export_main(int argc, char **argv)
{
	static const struct option opts[] = {{"junit", required_argument, NULL, 'j'},
					     {"ktap", required_argument, NULL, 'k'},
					     {"csv", required_argument, NULL, 'c'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *prog = argc > 0 ? argv[0] : "export";
	const char *junit = NULL, *ktap = NULL, *csv = NULL;
	char err[1024];
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			junit = optarg;
			break;
		case 'k':
			ktap = optarg;
			break;
		case 'c':
			csv = optarg;
			break;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			usage(stderr, prog);
			return 2;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "kvmqual %s: %s\n", prog,
			argc - optind ? "one results folder at a time"
				      : "which results? (a folder holding results.json)");
		usage(stderr, prog);
		return 2;
	}
	if (!junit && !ktap && !csv) {
		fprintf(stderr, "kvmqual %s: nothing to write: give --junit, --ktap or --csv\n",
			prog);
		usage(stderr, prog);
		return 2;
	}
	struct kq_runset rs = {0};
	if (kq_runset_add(&rs, argv[optind], err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		return 2;
	}
	const struct {
		const char *path;
		void (*fn)(const struct kq_run *, struct kq_buf *);
	} outs[] = {{junit, kq_export_junit}, {ktap, kq_export_ktap}, {csv, kq_export_csv}};
	/* stage every file, then rename them all: a failure leaves none written */
	struct kq_outfile staged[3] = {{0}};
	int nstaged = 0, rc = KQ_EXIT_OK;
	for (size_t i = 0; i < sizeof(outs) / sizeof(outs[0]) && !rc; i++) {
		if (!outs[i].path)
			continue;
		struct kq_buf b = KQ_BUF_INIT;
		outs[i].fn(&rs.runs[0], &b);
		int st;
		if (strcmp(outs[i].path, "-") == 0)
			st = kq_cli_write(&b, "-", err, sizeof(err));
		else if (b.failed)
			st = -1, snprintf(err, sizeof(err), "%s: out of memory", outs[i].path);
		else if ((st = kq_outfile_stage(&staged[nstaged], outs[i].path, kq_buf_str(&b),
						b.len, err, sizeof(err))) == 0)
			nstaged++;
		if (st != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			rc = KQ_EXIT_OUTPUT;
		}
		kq_buf_free(&b);
	}
	for (int i = 0; i < nstaged; i++) {
		if (rc)
			kq_outfile_abort(&staged[i]);
		else if (kq_outfile_commit(&staged[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			rc = KQ_EXIT_OUTPUT;
		}
	}
	kq_runset_free(&rs);
	return rc;
}
