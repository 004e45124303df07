/* The guest's registrations of the exit kinds, generated from
 * workloads/exit_table.def: workload "exit.<kind>" runs the row's loop under
 * kq_measure(kind) or calls the row's function with the kind, so the name the
 * guest measures under is the row's and no other. */
#include "workloads/exit_guest.h"

#define KQ_LOOP(fn) kq_measure(kind, fn, p)
#define KQ_RUN(fn)  fn(p, kind)
#define KQ_EXIT(id, kind_, handled_in, irqchip, guest, ...)                                        \
	static void kq_exit_workload_##id(struct kq_params *p)                                     \
	{                                                                                          \
		const char *kind = kind_;                                                          \
		guest;                                                                             \
	}                                                                                          \
	KQ_GUEST_WORKLOAD("exit." kind_, kq_exit_workload_##id);
#include "workloads/exit_table.def"
#undef KQ_EXIT
#undef KQ_LOOP
#undef KQ_RUN

/* For exit.scaling, which runs one row's plain loop on every vCPU. */
#define KQ_LOOP(fn)					   fn
#define KQ_RUN(fn)					   NULL
#define KQ_EXIT(id, kind, handled_in, irqchip, guest, ...) [KQ_EXIT_ID_##id] = {kind, guest},
const struct kq_exit_guest_row kq_exit_guest_rows[KQ_EXIT_COUNT] = {
#include "workloads/exit_table.def"
};
#undef KQ_EXIT
#undef KQ_LOOP
#undef KQ_RUN
