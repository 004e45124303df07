/* Entry points of the report-side subcommands, called by runner/main.c with
 * argv[0] set to the subcommand's name. Each supports --help. */
#ifndef KQ_REPORTS_REPORT_CMD_H
#define KQ_REPORTS_REPORT_CMD_H

#include <stdbool.h>
#include <stdio.h>

/* kvmqual report RESULTS_DIR [--out DIR] [--format html,md]
 * Exit 0 on success, 2 on bad usage or unreadable input, 4 (KQ_EXIT_OUTPUT)
 * when an output cannot be written. */
int kq_report_main(int argc, char **argv);
/* The report of INPUT (a results folder or file) into OUT_DIR (NULL: beside
 * results.json) in FORMATS (KQ_FMT_*): each written path is printed to PATHS
 * (may be NULL), the time taken to stderr when TIMING. Messages start with
 * "kvmqual PROG: ". Returns report's exit status. */
int kq_report_render(const char *prog, const char *input, const char *out_dir, int formats,
		     FILE *paths, bool timing);

/* kvmqual compare A B [C...] [--threshold PCT] [--alpha A] [--metric GLOB]...
 *                 [--out DIR] [--format html,md] [--seed N] [--resamples N]
 * Exit 0 when no gated metric regressed, 1 when one did, 2 on bad usage or
 * unreadable input, 4 when an output cannot be written. */
int kq_compare_main(int argc, char **argv);

/* kvmqual export RESULTS_DIR [--junit FILE] [--ktap FILE] [--csv FILE]
 * Exit 0 on success, 2 on bad usage or unreadable input, 4 when an output
 * cannot be written (then none of the files is written). */
int kq_export_main(int argc, char **argv);

#endif
