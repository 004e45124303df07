/* The host's exit kinds, generated from workloads/exit_table.def: one row
 * each, registered as one driver each with the row in its data. */
#include "workloads/exit_common.h"

/* The hooks each row names; one that no file defines does not link. */
#define KQ_HOOKS(h) extern const struct kq_exit_hooks kq_exit_hooks_##h;
#define KQ_NOHOOKS
#define KQ_EXIT(id, kind, handled_in, irqchip, guest, hooks, ...) hooks
#include "workloads/exit_table.def"
#undef KQ_EXIT
#undef KQ_HOOKS
#undef KQ_NOHOOKS

static const struct kq_exit_hooks no_hooks;

#define KQ_LOOP(fn) true
#define KQ_RUN(fn)  false
#define KQ_HOOKS(h) &kq_exit_hooks_##h
#define KQ_NOHOOKS  &no_hooks
#define KQ_EXIT(id_, kind_, handled_in_, irqchip_, guest, hooks_, stat_, user_exit_, expect,       \
		summary_)                                                                          \
	[KQ_EXIT_ID_##id_] = {.id = KQ_EXIT_ID_##id_,                                              \
			      .name = "exit." kind_,                                               \
			      .kind = kind_,                                                       \
			      .handled_in = handled_in_,                                           \
			      .summary = summary_,                                                 \
			      .irqchip = KQ_IRQCHIP_##irqchip_,                                    \
			      .plain_loop = guest,                                                 \
			      .hooks = hooks_,                                                     \
			      .stat = stat_,                                                       \
			      .user_exit = user_exit_,                                             \
			      .user_expect = KQ_UEXIT_##expect},
const struct kq_exit_kind kq_exit_kinds[KQ_EXIT_COUNT] = {
#include "workloads/exit_table.def"
};
#undef KQ_EXIT
#undef KQ_LOOP
#undef KQ_RUN
#undef KQ_HOOKS
#undef KQ_NOHOOKS

static struct kq_driver drivers[KQ_EXIT_COUNT];

__attribute__((constructor)) static void register_exit_kinds(void)
{
	for (int i = 0; i < KQ_EXIT_COUNT; i++) {
		const struct kq_exit_kind *k = &kq_exit_kinds[i];
		drivers[i] = (struct kq_driver){
		    .name = k->name,
		    .summary = k->summary,
		    .needs_kvm = true,
		    .params = k->hooks->params,
		    .run = kq_exit_run,
		    .data = k,
		};
		kq_driver_register(&drivers[i]);
	}
}
