/* `kvmqual list`: the declared tests, name first, then groups. */
#include "runner/commands.h"
#include "runner/conf.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
	fprintf(f, "usage: kvmqual list [--conf FILE] [--group G] [--workloads]\n"
		   "  One test per line: its name, then its groups ('(not default)' when it runs\n"
		   "  only if selected). --workloads lists the available workloads instead.\n");
}

int kq_list_main(int argc, char **argv)
{
	static const struct option opts[] = {{"conf", required_argument, 0, 'c'},
					     {"group", required_argument, 0, 'g'},
					     {"workloads", no_argument, 0, 'w'},
					     {"help", no_argument, 0, 'h'},
					     {0, 0, 0, 0}};
	const char *conf = KQ_DEFAULT_CONF, *group = NULL;
	bool workloads = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:g:wh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'g':
			group = optarg;
			break;
		case 'w':
			workloads = true;
			break;
		case 'h':
			help(stdout);
			return KQ_EXIT_OK;
		default:
			help(stderr);
			return KQ_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmqual list: unexpected argument '%s'\n", argv[optind]);
		return KQ_EXIT_USAGE;
	}
	if (workloads) {
		for (size_t i = 0; kq_driver_at(i); i++)
			printf("%-24s %s\n", kq_driver_at(i)->name, kq_driver_at(i)->summary);
		return KQ_EXIT_OK;
	}
	struct kq_suite s;
	if (kq_suite_load(&s, conf) < 0) {
		fputs(s.errors, stderr);
		fprintf(stderr, "kvmqual: %d error(s) in %s\n", s.nerrors,
			s.path[0] ? s.path : conf);
		return KQ_EXIT_USAGE;
	}
	/* A group that names nothing is an error, as it is for `run`. */
	bool *sel = calloc((size_t)s.ntests, sizeof(*sel));
	char err[1024];
	if (!sel || (group && kq_suite_select(&s, NULL, 0, &group, 1, sel, err, sizeof(err)) < 0)) {
		fprintf(stderr, "kvmqual list: %s", sel ? err : "out of memory\n");
		free(sel);
		kq_suite_free(&s);
		return KQ_EXIT_USAGE;
	}
	for (int i = 0; i < s.ntests; i++) {
		const struct kq_test *t = &s.tests[i];
		if (group && !sel[i])
			continue;
		printf("%s", t->name);
		for (int g = 0; g < t->ngroups; g++)
			printf(" %s", t->groups[g]);
		printf("%s\n", t->default_off ? " (not default)" : "");
	}
	free(sel);
	kq_suite_free(&s);
	return KQ_EXIT_OK;
}
