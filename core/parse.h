/* Value parsers shared by suite.conf, the CLI and the drivers' parameters;
 * each returns 0 on success and -1 (leaving *out alone) otherwise. */
#ifndef KQ_CORE_PARSE_H
#define KQ_CORE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

int kq_parse_size(const char *s, uint64_t *out);     /* 64M, 1G, 4096, 2K */
int kq_parse_duration_s(const char *s, double *out); /* 10, 1.5s, 200ms, 50us */
int kq_parse_int(const char *s, int64_t *out);	     /* decimal, 0x hex or 0 octal */
int kq_parse_u64(const char *s, uint64_t *out);	     /* the same, unsigned, no sign */
int kq_parse_dec(const char *s, int64_t *out);	     /* decimal only, blanks around allowed */
int kq_parse_double(const char *s, double *out);
int kq_parse_yes_no(const char *s, bool *out);

#endif
