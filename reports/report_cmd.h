/* Entry points of the report-side subcommands, called by runner/main.c with
 * argv[0] set to the subcommand's name. Each supports --help. */
#ifndef KQ_REPORTS_REPORT_CMD_H
#define KQ_REPORTS_REPORT_CMD_H

/* kvmqual report RESULTS_DIR [--out DIR] [--format html,md]
 * Exit 0 on success, 2 on bad usage, unreadable input or unwritable output. */
int kq_report_main(int argc, char **argv);

/* kvmqual compare A B [C...] [--threshold PCT] [--alpha A] [--metric GLOB]...
 *                 [--out DIR] [--format html,md] [--seed N] [--resamples N]
 * Exit 0 when no gated metric regressed, 1 when one did, 2 on bad usage or
 * unreadable input. */
int kq_compare_main(int argc, char **argv);

/* kvmqual export RESULTS_DIR [--junit FILE] [--ktap FILE] [--csv FILE]
 * Exit 0 on success, 2 on bad usage, unreadable input or unwritable output. */
int kq_export_main(int argc, char **argv);

#endif
