/* Numeric options of the migrate subcommands: the whole value must parse and
 * lie in its range, else a message naming the command, the option and the
 * value (exit 2 for the caller). */
#ifndef KQ_MIG_OPTS_H
#define KQ_MIG_OPTS_H

#include <stdint.h>

/* A whole number (decimal or 0x hex, no sign) from min to max. */
int kq_mig_opt_u64(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
		   uint64_t *out);
/* A size such as 4096 or 512M, from min to max bytes. */
int kq_mig_opt_size(const char *cmd, const char *opt, const char *v, uint64_t min, uint64_t max,
		    uint64_t *out);
/* A finite number from min to max. */
int kq_mig_opt_double(const char *cmd, const char *opt, const char *v, double min, double max,
		      double *out);
/* One of the NULL-terminated names; *out is its index. */
int kq_mig_opt_word(const char *cmd, const char *opt, const char *v, const char *const *names,
		    int *out);

#endif
