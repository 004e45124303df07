/* kvmqual compare A B [C...] [--threshold PCT] [--min-effect PCT] [--fdr Q]
 *                 [--metric GLOB]... [--allow-missing] [--json FILE]
 *                 [--out DIR] [--format html,md] [--seed N] [--resamples N] */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/parse.h"
#include "core/path.h"
#include "reports/chart.h"
#include "core/exit_codes.h"
#include "reports/cli.h"
#include "reports/compare.h"
#include "reports/db_runset.h"
#include "reports/report_cmd.h"
#include "reports/runset.h"

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: kvmqual %s A B [C...] [options]\n"
		"\n"
		"Compares runs (folders holding results.json, or the files): A is the baseline,\n"
		"every later run is compared with it, metric by metric. A run may also be\n"
		"db:SELECTION, every stored run it picks pooled (docs/database.md).\n"
		"Prints a summary; with\n"
		"--out also writes compare.html (charts inline) and compare.md (charts as PNG).\n"
		"\n"
		"  --threshold PCT  a change of the median smaller than PCT %% is \"same\" "
		"(default %g)\n"
		"  --min-effect PCT a floor under --threshold: a smaller change is never\n"
		"                   a regression, whatever the threshold (default %g)\n"
		"  --fdr Q          false discovery rate over all metrics of a comparison:\n"
		"                   Benjamini-Hochberg on the Mann-Whitney p (default %g;\n"
		"                   --alpha is the same option)\n"
		"  --metric GLOB    gate only metrics whose name or TEST/NAME matches GLOB\n"
		"                   (repeatable; values without samples gate only this way;\n"
		"                   default: every metric with a direction and samples)\n"
		"  --allow-missing  tests of A missing from a later run do not fail it\n"
		"  --json FILE      also write the comparison as JSON (-: on stdout, instead\n"
		"                   of the summary)\n"
		"  --out DIR        write compare.html, compare.md and charts/ into DIR\n"
		"  --format LIST    html, md or both (default html,md; needs --out)\n"
		"  --seed N         bootstrap seed (default %d)\n"
		"  --resamples N    bootstrap resamples (default %d)\n"
		"  -h, --help       this text\n"
		"\n"
		"Lower is better for ns, us, ms, s, cycles and ratio; higher for units ending\n"
		"in /s; labels.better = lower|higher overrides; other units are never gated.\n"
		"Exit status: 0 no gated metric regressed, 1 one did or a test of A is\n"
		"missing, 2 bad usage or input (a --metric that gates nothing, runs that\n"
		"share no metric), 4 an output could not be written (--out, --json files or\n"
		"standard output).\n",
		prog, KQ_CMP_DEFAULT_THRESHOLD, KQ_CMP_DEFAULT_MIN_EFFECT, KQ_CMP_DEFAULT_FDR,
		KQ_CMP_DEFAULT_SEED, KQ_CMP_DEFAULT_RESAMPLES);
}

static int write_json(const struct kq_cmp *c, const char *path, const char *prog)
{
	json_t *j = kq_compare_json(c, false);
	char *s = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	struct kq_buf b = KQ_BUF_INIT;
	char err[512];
	int rc = 0;
	json_decref(j);
	if (!s) {
		fprintf(stderr, "kvmqual %s: --json: out of memory\n", prog);
		return -1;
	}
	kq_buf_puts(&b, s);
	kq_buf_putc(&b, '\n');
	free(s);
	if (kq_cli_write(&b, path, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		rc = -1;
	}
	kq_buf_free(&b);
	return rc;
}

int kq_compare_main(int argc, char **argv)
{
	static const struct option opts[] = {{"threshold", required_argument, NULL, 't'},
					     {"alpha", required_argument, NULL, 'a'},
					     {"fdr", required_argument, NULL, 'a'},
					     {"min-effect", required_argument, NULL, 'e'},
					     {"allow-missing", no_argument, NULL, 'M'},
					     {"json", required_argument, NULL, 'j'},
					     {"metric", required_argument, NULL, 'm'},
					     {"out", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, 'f'},
					     {"seed", required_argument, NULL, 's'},
					     {"resamples", required_argument, NULL, 'r'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	const char *prog = argc > 0 ? argv[0] : "compare";
	struct kq_cmp_opts o;
	const char *out_dir = NULL, *json_path = NULL;
	int formats = KQ_FMT_HTML | KQ_FMT_MD, c;
	bool format_given = false;
	char err[1024];
	uint64_t u;
	const char **globs = calloc((size_t)(argc > 0 ? argc : 1), sizeof(*globs));
	size_t nglobs = 0;
	int rc = 2;

	kq_cmp_opts_default(&o);
	if (!globs) {
		fprintf(stderr, "kvmqual %s: out of memory\n", prog);
		return 2;
	}
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (kq_parse_double(optarg, &o.threshold_pct) < 0 || o.threshold_pct < 0) {
				fprintf(
				    stderr,
				    "kvmqual %s: --threshold: \"%s\" is not a percentage >= 0\n",
				    prog, optarg);
				goto out;
			}
			break;
		case 'a':
			if (kq_parse_double(optarg, &o.fdr) < 0 || o.fdr <= 0 || o.fdr >= 1) {
				fprintf(stderr, "kvmqual %s: --fdr: \"%s\" is not in (0, 1)\n",
					prog, optarg);
				goto out;
			}
			break;
		case 'e':
			if (kq_parse_double(optarg, &o.min_effect_pct) < 0 ||
			    o.min_effect_pct < 0) {
				fprintf(
				    stderr,
				    "kvmqual %s: --min-effect: \"%s\" is not a percentage >= 0\n",
				    prog, optarg);
				goto out;
			}
			break;
		case 'M':
			o.allow_missing = true;
			break;
		case 'j':
			json_path = optarg;
			break;
		case 'm':
			if (!kq_cmp_glob_valid(optarg)) {
				fprintf(stderr,
					"kvmqual %s: --metric: \"%s\" is not a valid pattern (an "
					"unclosed '[' or a trailing '\\')\n",
					prog, optarg);
				goto out;
			}
			globs[nglobs++] = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 'f':
			formats = kq_cli_formats(optarg, err, sizeof(err));
			if (formats < 0) {
				fprintf(stderr, "kvmqual %s: %s\n", prog, err);
				goto out;
			}
			format_given = true;
			break;
		case 's':
			if (kq_parse_u64(optarg, &u) < 0) {
				fprintf(stderr,
					"kvmqual %s: --seed: \"%s\" is not an unsigned integer\n",
					prog, optarg);
				goto out;
			}
			o.seed = u;
			break;
		case 'r':
			if (kq_parse_u64(optarg, &u) < 0 || u < 100 || u > 1000000) {
				fprintf(stderr,
					"kvmqual %s: --resamples: \"%s\" is not in 100..1000000\n",
					prog, optarg);
				goto out;
			}
			o.resamples = (unsigned)u;
			break;
		case 'h':
			usage(stdout, prog);
			rc = 0;
			goto out;
		default:
			usage(stderr, prog);
			goto out;
		}
	}
	o.globs = globs;
	o.nglobs = nglobs;
	if (argc - optind < 2) {
		fprintf(stderr, "kvmqual %s: need at least two runs to compare\n", prog);
		usage(stderr, prog);
		goto out;
	}
	if (argc - optind > KQ_MAX_RUNS) {
		fprintf(stderr, "kvmqual %s: at most %d runs at once\n", prog, KQ_MAX_RUNS);
		goto out;
	}
	if (format_given && !out_dir) {
		fprintf(stderr, "kvmqual %s: --format needs --out DIR\n", prog);
		goto out;
	}

	/* The charts (--out) draw from whole documents; the comparison itself
	 * needs only the pools, so without --out the files are read one test
	 * at a time, side by side, and never held whole (results_stream.h). */
	struct kq_runset rs = {0};
	struct kq_cmp cmp;
	struct kq_cmp_file files[KQ_MAX_RUNS] = {{0}};
	size_t nfiles = 0;
	kq_compare_begin(&cmp, &rs, &o);
	for (int i = optind; i < argc; i++)
		if (!out_dir && strncmp(argv[i], "db:", 3) != 0)
			files[nfiles++].path_or_dir = argv[i];
	kq_cmp_read_files(files, nfiles);
	nfiles = 0;
	for (int i = optind; i < argc; i++) {
		int lrc;
		if (!out_dir && strncmp(argv[i], "db:", 3) != 0) {
			lrc = kq_compare_add_read(&cmp, &rs, &files[nfiles++], err, sizeof(err));
		} else {
			lrc = kq_runset_add_any(&rs, argv[i], err, sizeof(err));
			if (lrc == 0)
				lrc = kq_compare_add_doc(&cmp, rs.n - 1, err, sizeof(err));
		}
		if (lrc != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			for (size_t f = 0; f < KQ_MAX_RUNS; f++)
				kq_cmp_file_free(&files[f]);
			kq_compare_free(&cmp);
			kq_runset_free(&rs);
			goto out;
		}
	}
	if (kq_compare_finish(&cmp, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		kq_compare_free(&cmp);
		kq_runset_free(&rs);
		goto out;
	}
	if (kq_compare_empty(&cmp, err, sizeof(err))) {
		fprintf(stderr, "kvmqual %s: %s\n", prog, err);
		kq_compare_free(&cmp);
		kq_runset_free(&rs);
		goto out;
	}
	if (!json_path || strcmp(json_path, "-") != 0) { /* --json - replaces the text */
		struct kq_buf text = KQ_BUF_INIT;
		kq_compare_text(&cmp, &text);
		fputs(kq_buf_str(&text), stdout);
		fflush(stdout);
		kq_buf_free(&text);
	}
	rc = kq_compare_regressions(&cmp) || kq_compare_missing_failures(&cmp) ? 1 : 0;
	if (json_path && write_json(&cmp, json_path, prog) != 0)
		rc = KQ_EXIT_OUTPUT;
	if (out_dir && (formats & KQ_FMT_HTML) && kq_compare_all_cis(&cmp) != 0) {
		fprintf(stderr, "kvmqual %s: out of memory\n", prog);
		rc = 2;
		out_dir = NULL;
	}

	if (out_dir) {
		char *png_dir = kq_cli_path_join(out_dir, "charts");
		struct kq_charts charts = {0};
		struct kq_chart_opts co = {
		    .svg = formats & KQ_FMT_HTML,
		    .png = formats & KQ_FMT_MD,
		    .png_dir = png_dir,
		};
		int crc = 0;
		if (!png_dir || kq_mkdir_p(out_dir) != 0) {
			fprintf(stderr, "kvmqual %s: %s: %s\n", prog, out_dir, strerror(errno));
			rc = KQ_EXIT_OUTPUT;
		} else if ((crc = kq_charts_render(&rs, &co, &charts, err, sizeof(err))) != 0) {
			fprintf(stderr, "kvmqual %s: %s\n", prog, err);
			rc = crc == KQ_CHARTS_EWRITE ? KQ_EXIT_OUTPUT : 2;
		} else {
			if (charts.error)
				fprintf(stderr, "kvmqual %s: warning: %s\n", prog, charts.error);
			for (size_t i = 0; i < charts.n; i++)
				if (charts.v[i].error)
					fprintf(stderr,
						"kvmqual %s: warning: chart %s not drawn: %s\n",
						prog, charts.v[i].id, charts.v[i].error);
			static const char *names[] = {"compare.html", "compare.md"};
			for (int k = 0; k < 2; k++) {
				if (!(formats & (k ? KQ_FMT_MD : KQ_FMT_HTML)))
					continue;
				struct kq_buf b = KQ_BUF_INIT;
				if (k)
					kq_compare_md(&cmp, &charts, "charts", &b);
				else
					kq_compare_html(&cmp, &charts, &b);
				char *path = kq_cli_path_join(out_dir, names[k]);
				if (!path || kq_cli_write(&b, path, err, sizeof(err)) != 0) {
					fprintf(stderr, "kvmqual %s: %s\n", prog,
						path ? err : "out of memory");
					rc = KQ_EXIT_OUTPUT;
				} else {
					fprintf(stderr, "kvmqual %s: wrote %s\n", prog, path);
				}
				free(path);
				kq_buf_free(&b);
			}
		}
		kq_charts_free(&charts);
		free(png_dir);
	}
	kq_compare_free(&cmp);
	kq_runset_free(&rs);
out:
	free(globs);
	return rc;
}
