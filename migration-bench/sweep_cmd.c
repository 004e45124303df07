/* `kvmqual migrate sweep` and the suite's migration-sweep test: the shaped
 * link grid of sweep.c, as a table or as a result with the cells as
 * evidence (the report draws downtime and total time against dirty rate,
 * one line per bandwidth). */
#include "core/exit_codes.h"
#include "core/parse.h"
#include "core/test.h"
#include "migration-bench/opts.h"
#include "migration-bench/report.h"
#include "migration-bench/sweep.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_rates(struct kq_mig_sweep_opts *o, const char *s)
{
	double v[KQ_SWEEP_MAX];
	if (kq_mig_sweep_list(s, v, &o->nrates) < 0)
		return -1;
	for (int i = 0; i < o->nrates; i++)
		o->rate[i] = (uint64_t)v[i];
	return 0;
}

static void defaults(struct kq_mig_sweep_opts *o)
{
	*o = (struct kq_mig_sweep_opts){.delay_ms = 1,
					.mem = 64 << 20,
					.downtime_ms = 300,
					.max_time_s = 20,
					.nbw = 3,
					.mbit = {100, 400, 1600},
					.nrates = 3,
					.rate = {1000, 4000, 16000}};
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kvmqual migrate sweep [--bandwidths MBIT,...] [--rates PAGES/S,...]\n"
		"                             [--delay-ms MS] [--mem SIZE] [--downtime-ms MS]\n"
		"                             [--max-time S] [--json FILE]\n"
		"  Migrates a guest dirtying at each rate over a link of each bandwidth:\n"
		"  two network namespaces (kqmig-PID-s, kqmig-PID-d) joined by a veth pair\n"
		"  (198.18.0.1 and 198.18.0.2, the benchmarking range) shaped with tc tbf,\n"
		"  and netem for --delay-ms (one way, each end; 0: no netem). Traffic stays\n"
		"  inside them; they are removed on exit, on SIGINT, SIGTERM and SIGHUP, and\n"
		"  those of a run that died are removed by the next. At most %d of each list\n"
		"  (defaults: 100,400,1600 Mbit/s; 1000,4000,16000 pages/s; 1 ms; 64M;\n"
		"  300 ms; 20 s per migration). Needs /dev/kvm, root and iproute2 (ip, tc).\n"
		"exit codes: 0 swept (cells that did not converge are results, not\n"
		"failures), 1 a migration failed, 2 bad usage, 3 this host cannot (the\n"
		"reason is printed), 4 --json could not be written\n",
		KQ_SWEEP_MAX);
}

int kq_mig_sweep_main(int argc, char **argv);
int kq_mig_sweep_main(int argc, char **argv)
{
	struct kq_mig_sweep_opts o;
	defaults(&o);
	const char *json = NULL;
	static const struct option opts[] = {
	    {"bandwidths", 1, 0, 'b'}, {"rates", 1, 0, 'r'},	   {"delay-ms", 1, 0, 'd'},
	    {"mem", 1, 0, 'm'},	       {"downtime-ms", 1, 0, 'D'}, {"max-time", 1, 0, 't'},
	    {"json", 1, 0, 'j'},       {"help", 0, 0, 'h'},	   {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool bad = false;
		switch (c) {
		case 'b':
			bad = kq_mig_sweep_list(optarg, o.mbit, &o.nbw) < 0;
			break;
		case 'r':
			bad = set_rates(&o, optarg) < 0;
			break;
		case 'd':
			if (kq_mig_opt_double("sweep", "--delay-ms", optarg, 0, 10000,
					      &o.delay_ms) < 0)
				return 2;
			break;
		case 'm':
			bad = kq_parse_size(optarg, &o.mem) < 0;
			break;
		case 'D':
			if (kq_mig_opt_double("sweep", "--downtime-ms", optarg, 0.001, 3.6e6,
					      &o.downtime_ms) < 0)
				return 2;
			break;
		case 't':
			if (kq_mig_opt_double("sweep", "--max-time", optarg, 0.001, 86400,
					      &o.max_time_s) < 0)
				return 2;
			break;
		case 'j':
			json = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			bad = true;
		}
		if (bad) {
			usage(stderr);
			return 2;
		}
	}
	struct kq_mig_sweep_cell cells[KQ_SWEEP_MAX * KQ_SWEEP_MAX];
	char err[512];
	bool skip;
	if (kq_mig_sweep(&o, cells, &skip, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate sweep: %s%s\n", skip ? "cannot run here: " : "",
			err);
		return skip ? 3 : 1;
	}
	printf("%10s %10s %-17s %8s %12s %12s %6s %9s\n", "Mbit/s", "pages/s", "status", "total s",
	       "downtime ms", "guest ms", "iters", "MB/s");
	for (int i = 0; i < o.nbw * o.nrates; i++)
		printf("%10.0f %10llu %-17s %8.3f %12.2f %12.2f %6d %9.1f\n", cells[i].mbit,
		       (unsigned long long)cells[i].rate,
		       cells[i].status == 0   ? "migrated"
		       : cells[i].status == 1 ? "did-not-converge"
					      : "failed",
		       cells[i].total_s, cells[i].downtime_ms, cells[i].guest_downtime_ms,
		       cells[i].iters, cells[i].throughput_MBps);
	if (json) {
		json_t *j = kq_mig_sweep_json(&o, cells);
		char err[1024];
		int r = kq_mig_save_json(json, j, err, sizeof(err));
		json_decref(j);
		if (r < 0) {
			fprintf(stderr, "kvmqual migrate sweep: %s\n", err);
			return KQ_EXIT_OUTPUT;
		}
	}
	for (int i = 0; i < o.nbw * o.nrates; i++)
		if (kq_mig_sweep_cell_failed(&cells[i])) {
			fprintf(stderr,
				"kvmqual migrate sweep: the migration at %.0f Mbit/s, %llu "
				"pages/s failed: %s\n",
				cells[i].mbit, (unsigned long long)cells[i].rate, cells[i].reason);
			return 1;
		}
	return 0;
}

static const struct kq_param_spec params[] = {
    {"bandwidths", KQ_PT_STRING, "link rates in Mbit/s, comma-separated (default 100,400,1600)"},
    {"rates", KQ_PT_STRING, "dirty rates in pages/s (default 1000,4000,16000)"},
    {"delay_ms", KQ_PT_DOUBLE, "one-way netem delay at each end (default 1)"},
    {"downtime_ms", KQ_PT_DOUBLE, "downtime limit (default 300)"},
    {NULL, 0, NULL},
};

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *ro,
		struct kq_result *res)
{
	struct kq_mig_sweep_opts o;
	defaults(&o);
	if (t->mem_bytes)
		o.mem = t->mem_bytes;
	o.delay_ms = kq_test_param_double(t, "delay_ms", o.delay_ms);
	o.downtime_ms = kq_test_param_double(t, "downtime_ms", o.downtime_ms);
	const char *bw = kq_test_param(t, "bandwidths", NULL),
		   *rt = kq_test_param(t, "rates", NULL);
	if ((bw && kq_mig_sweep_list(bw, o.mbit, &o.nbw) < 0) || (rt && set_rates(&o, rt) < 0)) {
		kq_result_set_status(res, KQ_FAIL, "bandwidths or rates: not a list of numbers");
		return;
	}
	struct kq_mig_sweep_cell *cells = calloc(KQ_SWEEP_MAX * KQ_SWEEP_MAX, sizeof(*cells));
	char err[512];
	bool skip;
	if (!cells) {
		kq_result_set_status(res, KQ_FAIL, "out of memory");
		return;
	}
	if (kq_mig_sweep(&o, cells, &skip, err, sizeof(err)) < 0) {
		kq_result_set_status(res, skip ? KQ_SKIP : KQ_FAIL, "%s", err);
		free(cells);
		return;
	}
	int failed = 0, stuck = 0;
	for (int i = 0; i < o.nbw * o.nrates; i++) {
		struct kq_mig_sweep_cell *c = &cells[i];
		char lab[96];
		snprintf(lab, sizeof(lab), "bandwidth=%.0fMbit rate=%llu", c->mbit,
			 (unsigned long long)c->rate);
		if (c->status == 0)
			kq_result_diag(res, "%s: migrated in %.3f s, downtime %.2f ms", lab,
				       c->total_s, c->downtime_ms);
		else
			kq_result_diag(res, "%s: %s", lab, c->reason);
		/* A cell that did not converge is data; one that failed otherwise,
		 * or whose source did not resume, is a defect. */
		failed += kq_mig_sweep_cell_failed(c);
		stuck += c->status == 1;
	}
	kq_result_set_evidence(res, "migration_sweep", kq_mig_sweep_json(&o, cells));
	if (failed)
		kq_result_set_status(res, KQ_FAIL, "%d of %d cells failed (diagnostics name them)",
				     failed, o.nbw * o.nrates);
	else
		kq_result_set_status(res, KQ_PASS,
				     "%d cells: %d migrated, %d did not converge (marked)",
				     o.nbw * o.nrates, o.nbw * o.nrates - stuck, stuck);
	free(cells);
}

static const struct kq_driver sweep = {
    .name = "migration-sweep",
    .summary = "migrations between two network namespaces over a shaped veth pair: bandwidth x "
	       "dirty rate grid",
    .needs_kvm = true,
    .params = params,
    .run = run,
};
KQ_DRIVER(sweep)
