/* Guest loops shared by several exit workloads (guest side only). */
#ifndef KQ_WORKLOADS_EXIT_LOOPS_H
#define KQ_WORKLOADS_EXIT_LOOPS_H

#include <stdint.h>

/* OUT to the userspace benchmark port, iters times; its bytes are written out
 * so that workloads/reference.c runs the very same loop. */
void kq_pio_user_loop(void *ctx, uint64_t iters);

#endif
