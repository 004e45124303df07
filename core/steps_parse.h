/* Step scripts in suite.conf: `steps = cpuid 1000; spin 5ms; pio 500; touch 16M 4K; sync 1`.
 * Steps are separated by ';' (or by indented continuation lines). */
#ifndef KQ_CORE_STEPS_PARSE_H
#define KQ_CORE_STEPS_PARSE_H

#include <stddef.h>
#include "guest/abi.h"

/* The largest test memory a section may ask for (suite.conf `memory`), so
 * the largest `touch`: the guest's page tables for it fit their 1 GiB region
 * with 4K pages (512 MiB of PTEs), and the test region (from 4 GiB up) ends
 * within a 39-bit guest-physical space. */
#define KQ_TEST_MEMORY_MAX (256ULL << 30)
/* `touch SIZE` without a stride writes one byte per 4 KiB. */
#define KQ_STEP_TOUCH_STRIDE 4096

/* Returns the number of steps, or -1 with a message naming the step. */
int kq_steps_parse(const char *script, struct kq_step *steps, int max, char *err, size_t errlen);
const char *kq_step_op_name(uint32_t op);

#endif
