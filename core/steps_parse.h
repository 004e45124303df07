/* Step scripts in suite.conf: `steps = cpuid 1000; spin 5ms; pio 500; touch 16M 4K; sync 1`.
 * Steps are separated by ';' (or by indented continuation lines). */
#ifndef KQ_CORE_STEPS_PARSE_H
#define KQ_CORE_STEPS_PARSE_H

#include <stddef.h>
#include "guest/abi.h"

/* Returns the number of steps, or -1 with a message naming the step. */
int kq_steps_parse(const char *script, struct kq_step *steps, int max, char *err, size_t errlen);
const char *kq_step_op_name(uint32_t op);

#endif
