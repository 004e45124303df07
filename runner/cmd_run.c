/* `kvmqual run`: select tests, run each isolated, write TAP and results.json. */
#include "probes/probe.h"
#include "core/tap.h"
#include "runner/commands.h"
#include "runner/conf.h"
#include "runner/execute.h"
#include "runner/progress.h"
#include "runner/results_file.h"
#include "core/outfile.h"
#include "core/path.h"
#include "reports/cli.h"
#include "reports/db_cmd.h"
#include "reports/report_cmd.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KQ_MAX_SELECT 64

struct run_args {
	const char *conf, *out;
	const char *db; /* --db URL: store the finished run there */
	bool force;	/* --force: an --out folder that holds results is reused */
	bool tap;	/* --tap: TAP on stdout even on a terminal */
	bool no_report; /* --no-report */
	bool help;
	const char *groups[KQ_MAX_SELECT], *tests[KQ_MAX_SELECT];
	int ngroups, ntests;
	struct kq_run_opts o;
};

static void help(FILE *f)
{
	fprintf(f,
		"usage: kvmqual run [--conf FILE] [--group G]... [--test T]... [--out DIR]\n"
		"                   [--force] [--quick] [--repeat K] [--tap] [--no-report]\n"
		"  Runs the selected tests (default: every test not marked default = no), each\n"
		"  in its own process with its time limit. On a terminal: one line per test\n"
		"  (status, name, headline figure) and a summary; otherwise (or with --tap)\n"
		"  TAP version 13 on stdout. Always: results.tap, results.json and the report\n"
		"  (report.html, summary.md, charts/) in DIR (default: a new folder under\n"
		"  results/).\n"
		"  --out DIR    the run folder; one that already holds files is refused unless\n"
		"               --force, which removes what a run writes there (results.json,\n"
		"               results.tap, report.html, summary.md, charts/*.png) first\n"
		"  --quick      small time goals, for smoke runs\n"
		"  --repeat K   run each test K times: samples pooled, plus the CV of medians\n"
		"  --tap        TAP on stdout even on a terminal\n"
		"  --no-report  do not render the report at the end\n"
		"  --db URL     store the finished run in the results database (docs/database.md)\n"
		"exit codes: 0 all passed, 1 a test failed, 2 bad usage or configuration,\n"
		"3 this environment cannot run the selection (the reason is printed),\n"
		"4 an output could not be written (results, report or standard output),\n"
		"128+N stopped by signal N (130 SIGINT, 143 SIGTERM, 129 SIGHUP): the running\n"
		"test is killed and recorded as interrupted, results.json and results.tap hold\n"
		"every test that finished\n");
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
	    {"conf", required_argument, 0, 'c'}, {"group", required_argument, 0, 'g'},
	    {"test", required_argument, 0, 't'}, {"out", required_argument, 0, 'o'},
	    {"quick", no_argument, 0, 'q'},	 {"repeat", required_argument, 0, 'r'},
	    {"help", no_argument, 0, 'h'},	 {"db", required_argument, 0, 'D'},
	    {"force", no_argument, 0, 'F'},	 {"tap", no_argument, 0, 'T'},
	    {"no-report", no_argument, 0, 'N'},	 {0, 0, 0, 0}};
	int c;
	int64_t k;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:g:t:o:qr:hD:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->conf = optarg;
			break;
		case 'g':
		case 't':
			if ((c == 'g' ? a->ngroups : a->ntests) == KQ_MAX_SELECT) {
				fprintf(stderr, "kvmqual run: at most %d --%s\n", KQ_MAX_SELECT,
					c == 'g' ? "group" : "test");
				return -1;
			}
			if (c == 'g')
				a->groups[a->ngroups++] = optarg;
			else
				a->tests[a->ntests++] = optarg;
			break;
		case 'o':
			if (!*optarg) {
				fprintf(stderr, "kvmqual run: --out: the folder name is empty\n");
				return -1;
			}
			a->out = optarg;
			break;
		case 'F':
			a->force = true;
			break;
		case 'T':
			a->tap = true;
			break;
		case 'N':
			a->no_report = true;
			break;
		case 'D':
			a->db = optarg;
			break;
		case 'q':
			a->o.quick = true;
			break;
		case 'r':
			if (kq_parse_int(optarg, &k) < 0 || k < 1 || k > 64) {
				fprintf(stderr, "kvmqual run: --repeat '%s': expected 1 to 64\n",
					optarg);
				return -1;
			}
			a->o.repeat = (int)k;
			break;
		case 'h':
			a->help = true;
			return 0;
		default:
			help(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual run: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

/* Marks the selected tests; -1 when a named test or group does not exist or
 * nothing would run. */
static int select_tests(const struct kq_suite *s, const struct run_args *a, bool *sel)
{
	char err[2048];
	if (kq_suite_select(s, a->tests, a->ntests, a->groups, a->ngroups, sel, err, sizeof(err)) >=
	    0)
		return 0;
	fprintf(stderr, "kvmqual run: %s", err);
	return -1;
}

/* What a run writes into its folder: --force removes exactly these. */
static const char *const owned_files[] = {"results.json", "results.tap", "report.html",
					  "summary.md", NULL};

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;
	while (d && empty && (e = readdir(d)))
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	if (d)
		closedir(d);
	return empty;
}

/* Removes what an earlier run wrote into DIR (its files, the PNGs in charts/):
 * nothing else there is touched. 0, or -1 with errno. */
static int clear_owned(const char *dir)
{
	char path[4200];
	for (int i = 0; owned_files[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, owned_files[i]);
		if (unlink(path) != 0 && errno != ENOENT)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/charts", dir);
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	struct dirent *e;
	int rc = 0;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n > 4 && strcmp(e->d_name + n - 4, ".png") == 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
			rc = -1;
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0 && errno != ENOTEMPTY && errno != EEXIST)
		rc = -1;
	return rc;
}

/* 0; -1 with a message and *code set: 2 for a folder that holds files (no
 * --force), 4 when it cannot be made or cleared. */
static int make_out_dir(struct run_args *a, char *dir, size_t len, int *code)
{
	*code = KQ_EXIT_OUTPUT;
	if (a->out) {
		snprintf(dir, len, "%s", a->out);
		struct stat st;
		if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "kvmqual run: --out %s: not a folder\n", dir);
			*code = KQ_EXIT_USAGE;
			return -1;
		}
		if (kq_mkdir_p(dir) != 0) {
			fprintf(stderr, "kvmqual: cannot create the output folder %s: %s\n", dir,
				strerror(errno));
			return -1;
		}
		if (dir_is_empty(dir))
			return 0;
		if (!a->force) {
			fprintf(stderr,
				"kvmqual run: --out %s already holds files: give another folder, "
				"or --force to replace the results of the run there\n",
				dir);
			*code = KQ_EXIT_USAGE;
			return -1;
		}
		if (clear_owned(dir) != 0) {
			fprintf(stderr, "kvmqual: cannot clear the old results in %s: %s\n", dir,
				strerror(errno));
			return -1;
		}
		return 0;
	}
	if (mkdir("results", 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "kvmqual: cannot create the output folder results: %s\n",
			strerror(errno));
		return -1;
	}
	char id[32];
	kq_utc_now(id, sizeof(id), true);
	for (int n = 0; n < 100; n++) {
		if (n)
			snprintf(dir, len, "results/%s-%d", id, n);
		else
			snprintf(dir, len, "results/%s", id);
		if (mkdir(dir, 0755) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	fprintf(stderr, "kvmqual: cannot create an output folder under results/: %s\n",
		strerror(errno));
	return -1;
}

/* Exit 3 before anything runs when a selected test needs KVM and there is none. */
static int check_environment(const struct kq_suite *s, const bool *sel)
{
	for (int i = 0; i < s->ntests; i++) {
		if (!sel[i] || !kq_driver_find(s->tests[i].workload)->needs_kvm)
			continue;
		struct kq_kvm k;
		if (kq_kvm_open(&k, NULL) < 0) {
			/* Without permission the fix is the kvm group (named in the
			 * message), not another host. */
			bool denied = errno == EACCES || errno == EPERM;
			fprintf(stderr, "kvmqual: this host cannot run KVM tests (%s).\n",
				kq_err());
			if (!denied)
				fprintf(stderr,
					"kvmqual: `make run` runs the suite in an emulated KVM "
					"host instead.\n");
			return -1;
		}
		kq_kvm_close(&k);
		return 0;
	}
	return 0;
}

static json_t *run_one(const struct kq_test *t, const struct kq_run_opts *o)
{
	json_t *runs[64];
	int n = 0;
	while (n < o->repeat && (n == 0 || !kq_stop_signal))
		runs[n++] = kq_execute_test(t, o);
	json_t *res = n > 1 ? kq_merge_repeats(runs, n) : runs[0];
	json_object_set_new(res, "environment", json_string(o->environment));
	if (!json_is_true(json_object_get(res, "interrupted")))
		kq_apply_thresholds(t, res);
	return res;
}

/* The run's outputs as they stand: results.tap and results.json, each
 * rewritten whole after every test. */
struct run_out {
	const char *dir;
	char *tap;
	size_t tap_len;
	FILE *tapf; /* open_memstream into tap */
	bool human; /* a terminal: lines for people on stdout, TAP only in the file */
	bool stdout_failed;
	char err[4400];
};

static int save_outputs(struct run_out *ro, json_t *doc)
{
	char path[4200];
	if (fflush(ro->tapf) != 0) {
		snprintf(ro->err, sizeof(ro->err), "cannot write %s/results.tap: out of memory",
			 ro->dir);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/results.tap", ro->dir);
	if (kq_outfile_save(path, ro->tap, ro->tap_len, ro->err, sizeof(ro->err)) != 0)
		return -1;
	if (!json_object_get(json_object_get(doc, "run"), "finished"))
		kq_results_summarise(doc); /* a run still going: the tests so far */
	return kq_results_write(doc, ro->dir, ro->err, sizeof(ro->err));
}

/* TAP for one test into results.tap, and onto stdout unless people read it. */
static void emit_tap(struct run_out *ro, int number, const json_t *res)
{
	kq_tap_result(ro->tapf, number, res);
	if (ro->human)
		return;
	kq_tap_result(stdout, number, res);
	if ((fflush(stdout) != 0 || ferror(stdout)) && !ro->stdout_failed) {
		fprintf(stderr, "kvmqual: cannot write standard output: %s\n", strerror(errno));
		ro->stdout_failed = true;
	}
	clearerr(stdout); /* reported once, here */
}

static void emit_bail_out(struct run_out *ro, int sig)
{
	const char *abbrev = sigabbrev_np(sig);
	fprintf(ro->tapf, "Bail out! interrupted by SIG%s\n", abbrev ? abbrev : "?");
	if (!ro->human) {
		printf("Bail out! interrupted by SIG%s\n", abbrev ? abbrev : "?");
		fflush(stdout);
		clearerr(stdout);
	}
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int kq_run_main(int argc, char **argv)
{
	struct run_args a = {.conf = KQ_DEFAULT_CONF, .o = {.repeat = 1}};
	if (parse_args(argc, argv, &a) < 0)
		return KQ_EXIT_USAGE;
	if (a.help) {
		help(stdout);
		return KQ_EXIT_OK;
	}
	struct kq_suite s;
	if (kq_suite_load(&s, a.conf) < 0) {
		fputs(s.errors, stderr);
		fprintf(stderr, "kvmqual: %d error(s) in %s; nothing was run\n", s.nerrors, a.conf);
		return KQ_EXIT_USAGE;
	}
	int rc = KQ_EXIT_USAGE;
	bool *sel = calloc((size_t)s.ntests + 1, sizeof(*sel));
	if (!sel || select_tests(&s, &a, sel) < 0)
		goto out;
	rc = KQ_EXIT_ENV;
	if (check_environment(&s, sel) < 0)
		goto out;
	char dir[4096];
	if (make_out_dir(&a, dir, sizeof(dir), &rc) < 0)
		goto out;
	a.o.out_dir = dir;
	kq_execute_on_signals();
	double t0 = mono_s();
	a.o.environment = kq_probe_environment();

	int n = 0, width = 0;
	for (int i = 0; i < s.ntests; i++)
		if (sel[i]) {
			n++;
			int w = (int)strlen(s.tests[i].name);
			width = w > width ? w : width;
		}
	struct run_out ro = {.dir = dir, .human = isatty(STDOUT_FILENO) && !a.tap};
	ro.tapf = open_memstream(&ro.tap, &ro.tap_len);
	if (!ro.tapf) {
		fprintf(stderr, "kvmqual: out of memory\n");
		rc = KQ_EXIT_OUTPUT;
		goto out;
	}
	bool progress = !ro.human && isatty(STDERR_FILENO);
	if (strcmp(a.o.environment, "emulated") == 0)
		fprintf(stderr, "kvmqual: emulated KVM host: timings are functional checks, "
				"not representative\n");
	json_t *doc = kq_results_new(argc, argv, a.conf, a.o.quick, a.o.repeat, a.o.environment,
				     kq_probe_host(""));
	kq_tap_header(ro.tapf, n);
	if (ro.human) {
		printf("kvmqual: %d test%s from %s into %s\n", n, n == 1 ? "" : "s", a.conf, dir);
		kq_progress_start(stdout, &a.o);
		kq_execute_progress = kq_progress_tick;
	} else {
		kq_tap_header(stdout, n);
	}
	bool write_failed = false, last_interrupted = false;
	int k = 0;
	for (int i = 0; i < s.ntests && !kq_stop_signal && !write_failed; i++) {
		if (!sel[i])
			continue;
		k++;
		if (progress)
			fprintf(stderr, "[%d/%d] %s ...\n", k, n, s.tests[i].name);
		json_t *res = run_one(&s.tests[i], &a.o);
		emit_tap(&ro, k, res);
		if (ro.human)
			kq_progress_result(stdout, res, width);
		kq_results_add_test(doc, res);
		last_interrupted = json_is_true(json_object_get(res, "interrupted"));
		json_decref(res);
		/* a folder that cannot take the results stops the run: the tests
		 * after would measure for nothing */
		write_failed = save_outputs(&ro, doc) != 0;
	}
	kq_execute_progress = NULL;
	int stop = kq_stop_signal;
	if (stop)
		emit_bail_out(&ro, stop);
	rc = kq_results_finish(doc, stop);
	if (!write_failed)
		write_failed = save_outputs(&ro, doc) != 0;
	fclose(ro.tapf);
	free(ro.tap);
	json_t *sum = json_object_get(doc, "summary");
	if (ro.human)
		kq_progress_summary(stdout, doc, mono_s() - t0);
	else
		fprintf(stderr, "kvmqual: %lld passed, %lld failed, %lld skipped\n",
			json_integer_value(json_object_get(sum, "pass")),
			json_integer_value(json_object_get(sum, "fail")),
			json_integer_value(json_object_get(sum, "skip")));
	json_decref(doc);
	if (write_failed) {
		fprintf(stderr, "kvmqual: %s; the run stopped after %d of %d tests\n", ro.err, k,
			n);
		rc = KQ_EXIT_OUTPUT;
		goto out;
	}
	if (stop) {
		fprintf(stderr, "kvmqual: interrupted by SIG%s: %d of %d tests recorded%s in %s\n",
			sigabbrev_np(stop) ? sigabbrev_np(stop) : "?", k, n,
			last_interrupted ? " (the last one as interrupted)" : "", dir);
		goto out;
	}
	char where[4200];
	snprintf(where, sizeof(where), "%s/results.json", dir);
	fprintf(ro.human ? stdout : stderr, "%sresults: %s\n", ro.human ? "" : "kvmqual: ", where);
	if (!a.no_report) {
		int r = kq_report_render("run", dir, NULL, KQ_FMT_HTML | KQ_FMT_MD, NULL, false);
		if (r == KQ_EXIT_OK)
			fprintf(ro.human ? stdout : stderr, "%sreport:  %s/report.html\n",
				ro.human ? "" : "kvmqual: ", dir);
		else if (r == KQ_EXIT_OUTPUT)
			rc = KQ_EXIT_OUTPUT;
	}
	if (ro.stdout_failed && (rc == KQ_EXIT_OK || rc == KQ_EXIT_FAILED))
		rc = KQ_EXIT_OUTPUT;
	if (a.db && kq_db_store_finished(a.db, dir) != 0 && rc == KQ_EXIT_OK)
		rc = KQ_EXIT_FAILED;
out:
	free(sel);
	kq_suite_free(&s);
	return rc;
}
