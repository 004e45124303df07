/* Exit codes of every kvmqual subcommand; the table is in README.md ("Exit
 * codes") and in `kvmqual --help`. */
#ifndef KQ_CORE_EXIT_CODES_H
#define KQ_CORE_EXIT_CODES_H

enum {
	KQ_EXIT_OK = 0,	    /* all passed (or the command did what it was asked) */
	KQ_EXIT_FAILED = 1, /* a test failed (run), a gated metric regressed (compare) */
	KQ_EXIT_USAGE = 2,  /* bad usage, configuration or input */
	KQ_EXIT_ENV = 3,    /* this environment cannot run the selection */
	KQ_EXIT_OUTPUT = 4, /* an output file or standard output could not be written */
	KQ_EXIT_SIGNAL =
	    128, /* + the signal: stopped by SIGHUP (129), SIGINT (130), SIGTERM (143) */
};

#endif
