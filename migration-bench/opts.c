/* Numeric options of the migrate subcommands, checked whole and in range. */
#include "migration-bench/opts.h"
#include "core/parse.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* PARSE, then the range; WHAT says what was expected. */
static int ranged(const char *cmd, const char *opt, const char *v,
		  int (*parse)(const char *, uint64_t *), const char *what, uint64_t min,
		  uint64_t max, uint64_t *out)
{
	uint64_t u;
	if (parse(v, &u) == 0 && u >= min && u <= max) {
		*out = u;
		return 0;
	}
	char range[64] = ""; /* no upper bound: say only the lower one, if any */
	if (max != UINT64_MAX)
		snprintf(range, sizeof(range), " from %" PRIu64 " to %" PRIu64, min, max);
	else if (min)
		snprintf(range, sizeof(range), " of at least %" PRIu64, min);
	fprintf(stderr, "kvmqual migrate %s: %s '%s': expected %s%s\n", cmd, opt, v, what, range);
	return -1;
}

int kq_mig_opt_u64(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
		   uint64_t *out)
{
	return ranged(cmd, opt, v, kq_parse_u64, "a whole number", min, max, out);
}

int kq_mig_opt_size(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	return ranged(cmd, opt, v, kq_parse_size, "a size in bytes (such as 4096 or 512M)", min,
		      max, out);
}

int kq_mig_opt_double(const char *cmd, const char *opt, const char *v, double min, double max,
		      double *out)
{
	double d;
	if (kq_parse_double(v, &d) == 0 && d >= min && d <= max) {
		*out = d;
		return 0;
	}
	fprintf(stderr, "kvmqual migrate %s: %s '%s': expected a number from %g to %g\n", cmd, opt,
		v, min, max);
	return -1;
}

int kq_mig_opt_word(const char *cmd, const char *opt, const char *v, const char *const *names,
		    int *out)
{
	char list[256] = "";
	for (int i = 0; names[i]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
			 names[i]);
	}
	fprintf(stderr, "kvmqual migrate %s: %s '%s': expected one of %s\n", cmd, opt, v, list);
	return -1;
}
