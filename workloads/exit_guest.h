/* Guest side of the exit-kind table: the prototype of every row's guest
 * function, declared from workloads/exit_table.def. Each *.guest.c that
 * defines one includes this header, so a definition whose type differs from
 * what its row says does not compile, and a row whose function nobody
 * defines does not link (workloads/exit_table.guest.c refers to each). */
#ifndef KQ_WORKLOADS_EXIT_GUEST_H
#define KQ_WORKLOADS_EXIT_GUEST_H

#include "guest/guest.h"
#include "workloads/exit_abi.h"
#include "workloads/exit_table.h"

/* A KQ_RUN row's function: prepares the vCPU and measures under `kind`. */
typedef void kq_exit_run_fn(struct kq_params *p, const char *kind);

#define KQ_LOOP(fn)					   void fn(void *ctx, uint64_t iters);
#define KQ_RUN(fn)					   kq_exit_run_fn fn;
#define KQ_EXIT(id, kind, handled_in, irqchip, guest, ...) guest
#include "workloads/exit_table.def"
#undef KQ_EXIT
#undef KQ_LOOP
#undef KQ_RUN

/* The plain loop of a KQ_LOOP row and its kind; loop is NULL for KQ_RUN rows. */
struct kq_exit_guest_row {
	const char *kind;
	kq_measured_fn loop;
};
extern const struct kq_exit_guest_row kq_exit_guest_rows[KQ_EXIT_COUNT];

#endif
