/* kvmqual report RESULTS_DIR [--out DIR] [--format html,md] */
#include "reports/report_cmd.h"
#include "core/path.h"
#include "core/exit_codes.h"
#include "core/outfile.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reports/chart.h"
#include "reports/cli.h"
#include "reports/report.h"
#include "reports/runset.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: kvmqual %s RESULTS_DIR [--out DIR] [--format html,md]\n"
		"\n"
		"Renders one run's results.json (RESULTS_DIR, or the file itself):\n"
		"  report.html  one self-contained page: host, test summary, tables, charts (SVG)\n"
		"  summary.md   a short Markdown summary for CI comments, charts as charts/*.png\n"
		"\n"
		"  --out DIR       where to write (default: the folder holding results.json)\n"
		"  --format LIST   html, md or both (default html,md)\n"
		"  -h, --help      this text\n"
		"\n"
		"Charts need gnuplot; without it the report is written without charts.\n"
		"Every file is written whole or not at all (a temporary name, then renamed).\n"
		"Exit status: 0 written, 2 bad usage or unreadable results, 4 an output\n"
		"could not be written.\n",
		prog);
}

int kq_report_main(int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *prog = argc > 0 ? argv[0] : "report";
	const char *out_dir = NULL;
	int formats = KQ_FMT_HTML | KQ_FMT_MD, c;
	char err[1024];

	optind = 0; /* a fresh scan; options may come before or after the folder */
	while ((c = getopt_long(argc, argv, "ho:f:", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out_dir = optarg;
			break;
		case 'f':
			formats = kq_cli_formats(optarg, err, sizeof(err));
			if (formats < 0) {
				fprintf(stderr, "kvmqual %s: %s\n", prog, err);
				return 2;
			}
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
	return kq_report_render(prog, argv[optind], out_dir, formats, stdout, true);
}

int kq_report_render(const char *prog, const char *input, const char *out_dir, int formats,
		     FILE *paths, bool timing)
{
	char err[1024];
	struct kq_runset rs = {0};
	if (kq_runset_add(&rs, input, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		return KQ_EXIT_USAGE;
	}
	char *dir = out_dir ? strdup(out_dir) : kq_cli_results_dir(input);
	char *png_dir = dir ? kq_cli_path_join(dir, "charts") : NULL;
	int rc = KQ_EXIT_OUTPUT;
	struct kq_charts charts = {0};
	struct kq_buf html = KQ_BUF_INIT, md = KQ_BUF_INIT;
	struct kq_outfile staged[2] = {{0}};
	int nstaged = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if (!dir || !png_dir) {
		fprintf(stderr, "kvmqual %s: out of memory\n", prog);
		goto out;
	}
	if (kq_mkdir_p(dir) != 0) {
		fprintf(stderr, "kvmqual %s: cannot create %s: %s\n", prog, dir, strerror(errno));
		goto out;
	}
	struct kq_chart_opts co = {
	    .svg = formats & KQ_FMT_HTML,
	    .png = formats & KQ_FMT_MD,
	    .png_dir = png_dir,
	};
	int crc = kq_charts_render(&rs, &co, &charts, err, sizeof(err));
	if (crc != 0) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		if (crc != KQ_CHARTS_EWRITE)
			rc = KQ_EXIT_USAGE;
		goto out;
	}
	if (charts.error)
		fprintf(stderr, "kvmqual %s: warning: %s\n", prog, charts.error);
	for (size_t i = 0; i < charts.n; i++)
		if (charts.v[i].error)
			fprintf(stderr, "kvmqual %s: warning: chart %s not drawn: %s\n", prog,
				charts.v[i].id, charts.v[i].error);
	/* both files staged before either is renamed into place */
	if (formats & KQ_FMT_HTML)
		kq_report_html(&rs, &charts, &html);
	if (formats & KQ_FMT_MD)
		kq_report_md(&rs, &charts, "charts", &md);
	const struct {
		int fmt;
		const char *name;
		struct kq_buf *b;
	} files[] = {{KQ_FMT_HTML, "report.html", &html}, {KQ_FMT_MD, "summary.md", &md}};
	for (size_t i = 0; i < 2; i++) {
		if (!(formats & files[i].fmt))
			continue;
		char *path = kq_cli_path_join(dir, files[i].name);
		int st = !path || files[i].b->failed
			     ? (snprintf(err, sizeof(err), "cannot write %s: out of memory",
					 path ? path : files[i].name),
				-1)
			     : kq_outfile_stage(&staged[nstaged], path, kq_buf_str(files[i].b),
						files[i].b->len, err, sizeof(err));
		free(path);
		if (st != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			goto out;
		}
		nstaged++;
	}
	for (int i = 0; i < nstaged; i++) {
		char *path = strdup(staged[i].path);
		if (kq_outfile_commit(&staged[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			free(path);
			goto out;
		}
		if (paths && path)
			fprintf(paths, "%s\n", path);
		free(path);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timing)
		fprintf(stderr, "kvmqual %s: %zu tests, %zu charts in %.2f s\n", prog,
			json_array_size(json_object_get(rs.runs[0].root, "tests")), charts.n,
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	rc = KQ_EXIT_OK;
out:
	for (int i = 0; i < nstaged; i++)
		if (staged[i].path)
			kq_outfile_abort(&staged[i]);
	free(dir);
	free(png_dir);
	kq_buf_free(&html);
	kq_buf_free(&md);
	kq_charts_free(&charts);
	kq_runset_free(&rs);
	return rc;
}
