/* `kvmqual run`: select tests, run each isolated, write TAP and results.json. */
#include "probes/probe.h"
#include "core/tap.h"
#include "runner/commands.h"
#include "runner/conf.h"
#include "runner/execute.h"
#include "runner/results_file.h"
#include "reports/db_cmd.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KQ_MAX_SELECT 64

struct run_args {
	const char *conf, *out;
	const char *db; /* --db URL: store the finished run there */
	const char *groups[KQ_MAX_SELECT], *tests[KQ_MAX_SELECT];
	int ngroups, ntests;
	struct kq_run_opts o;
};

static void help(FILE *f)
{
	fprintf(f,
		"usage: kvmqual run [--conf FILE] [--group G]... [--test T]... [--out DIR]\n"
		"                   [--quick] [--repeat K]\n"
		"  Runs the selected tests (default: every test not marked default = no), each\n"
		"  in its own process with its time limit. TAP version 13 on stdout; results.json\n"
		"  and results.tap in DIR (default: a new folder under results/).\n"
		"  --quick      small time goals, for smoke runs\n"
		"  --repeat K   run each test K times; reports the run-to-run CV of medians\n"
		"  --db URL     store the finished run in the results database (docs/database.md)\n"
		"exit codes: 0 all passed, 1 a test failed, 2 bad usage or configuration,\n"
		"3 this environment cannot run the selection (the reason is printed)\n");
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {{"conf", required_argument, 0, 'c'},
					     {"group", required_argument, 0, 'g'},
					     {"test", required_argument, 0, 't'},
					     {"out", required_argument, 0, 'o'},
					     {"quick", no_argument, 0, 'q'},
					     {"repeat", required_argument, 0, 'r'},
					     {"help", no_argument, 0, 'h'},
					     {"db", required_argument, 0, 'D'},
					     {0, 0, 0, 0}};
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
			a->out = optarg;
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
			help(stdout);
			exit(KQ_EXIT_OK);
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

static int make_out_dir(struct run_args *a, char *dir, size_t len)
{
	if (a->out) {
		snprintf(dir, len, "%s", a->out);
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -1;
		return 0;
	}
	if (mkdir("results", 0755) < 0 && errno != EEXIST)
		return -1;
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
			return -1;
	}
	errno = EEXIST;
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
	for (int r = 0; r < o->repeat; r++)
		runs[r] = kq_execute_test(t, o);
	json_t *res = o->repeat > 1 ? kq_merge_repeats(runs, o->repeat) : runs[0];
	json_object_set_new(res, "environment", json_string(o->environment));
	kq_apply_thresholds(t, res);
	return res;
}

int kq_run_main(int argc, char **argv)
{
	struct run_args a = {.conf = KQ_DEFAULT_CONF, .o = {.repeat = 1}};
	if (parse_args(argc, argv, &a) < 0)
		return KQ_EXIT_USAGE;
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
	if (make_out_dir(&a, dir, sizeof(dir)) < 0) {
		fprintf(stderr, "kvmqual: cannot create the output folder %s: %s\n",
			a.out ? a.out : "under results/", strerror(errno));
		goto out;
	}
	a.o.out_dir = dir;
	a.o.environment = kq_probe_environment();

	int n = 0;
	for (int i = 0; i < s.ntests; i++)
		n += sel[i];
	char tap_path[4200];
	snprintf(tap_path, sizeof(tap_path), "%s/results.tap", dir);
	FILE *tap = fopen(tap_path, "w");
	if (!tap) {
		fprintf(stderr, "kvmqual: cannot write %s: %s\n", tap_path, strerror(errno));
		goto out;
	}
	bool progress = isatty(STDERR_FILENO);
	if (strcmp(a.o.environment, "emulated") == 0)
		fprintf(stderr, "kvmqual: emulated KVM host: timings are functional checks, "
				"not representative\n");
	json_t *doc = kq_results_new(argc - 1, argv + 1, a.conf, a.o.quick, a.o.repeat,
				     a.o.environment, kq_probe_host(""));
	kq_tap_header(stdout, n);
	kq_tap_header(tap, n);
	int k = 0;
	for (int i = 0; i < s.ntests; i++) {
		if (!sel[i])
			continue;
		k++;
		if (progress)
			fprintf(stderr, "[%d/%d] %s ...\n", k, n, s.tests[i].name);
		json_t *res = run_one(&s.tests[i], &a.o);
		kq_tap_result(stdout, k, res);
		kq_tap_result(tap, k, res);
		kq_results_add_test(doc, res);
		json_decref(res);
		if (kq_results_write(doc, dir) < 0)
			fprintf(stderr, "kvmqual: cannot write %s/results.json: %s\n", dir,
				strerror(errno));
	}
	rc = kq_results_finish(doc);
	if (kq_results_write(doc, dir) < 0) {
		fprintf(stderr, "kvmqual: cannot write %s/results.json: %s\n", dir,
			strerror(errno));
		rc = KQ_EXIT_FAILED;
	}
	fclose(tap);
	json_t *sum = json_object_get(doc, "summary");
	fprintf(stderr, "kvmqual: %lld passed, %lld failed, %lld skipped; results in %s\n",
		json_integer_value(json_object_get(sum, "pass")),
		json_integer_value(json_object_get(sum, "fail")),
		json_integer_value(json_object_get(sum, "skip")), dir);
	json_decref(doc);
	if (a.db && kq_db_store_finished(a.db, dir) != 0)
		rc = KQ_EXIT_FAILED;
out:
	free(sel);
	kq_suite_free(&s);
	return rc;
}
