/* The exit-kind table (workloads/exit_table.def) as the host registers it:
 * one driver per row, named exit.<kind>, carrying its own row, with labels
 * and evidence expectations the generic driver and the reports accept. */
#include "tests/tap.h"
#include "workloads/exit_common.h"

#include <string.h>

int main(void)
{
	int rows_ok = 0;
	for (int i = 0; i < KQ_EXIT_COUNT; i++) {
		const struct kq_exit_kind *k = &kq_exit_kinds[i];
		char name[96];
		snprintf(name, sizeof(name), "exit.%s", k->kind);
		const struct kq_driver *d = kq_driver_find(name);
		bool good = k->id == (enum kq_exit_id)i && strcmp(k->name, name) == 0 && d &&
			    d->data == k && d->run == kq_exit_run && d->needs_kvm && k->hooks &&
			    k->summary && k->summary[0] &&
			    (strcmp(k->handled_in, "kernel") == 0 ||
			     strcmp(k->handled_in, "userspace") == 0 ||
			     strcmp(k->handled_in, "none") == 0) &&
			    (k->user_expect == KQ_UEXIT_ANY) == (k->user_exit == NULL) &&
			    (k->irqchip == KQ_IRQCHIP_NONE || k->irqchip == KQ_IRQCHIP_KERNEL);
		for (int j = 0; j < i; j++)
			good = good && strcmp(kq_exit_kinds[j].kind, k->kind) != 0;
		if (!ok(good, "row %d (%s): its driver %s carries it, labels and evidence valid", i,
			k->kind, name))
			continue;
		rows_ok++;
	}
	is_int(rows_ok, KQ_EXIT_COUNT, "every row of the table is registered once");
	ok(KQ_EXIT_COUNT >= 40, "the table has the %d kinds (kvm-unit-tests' vmexit ones included)",
	   KQ_EXIT_COUNT);

	/* A few rows by id: the table and the old spellings agree. */
	is_str(kq_exit_kinds[KQ_EXIT_ID_pio_user].kind, "pio-user", "pio-user's kind");
	is_str(kq_exit_kinds[KQ_EXIT_ID_pio_user].user_exit, "IO",
	       "pio-user: one KVM_EXIT_IO each");
	is_str(kq_exit_kinds[KQ_EXIT_ID_hypercall].stat, "hypercalls", "hypercall: KVM's counter");
	ok(kq_exit_kinds[KQ_EXIT_ID_cpuid].plain_loop, "cpuid's guest side is a plain loop");
	ok(!kq_exit_kinds[KQ_EXIT_ID_ipi_pingpong].plain_loop,
	   "ipi-pingpong's guest side is a function of its own");
	ok(kq_exit_kinds[KQ_EXIT_ID_ipi_halted].hooks->params != NULL,
	   "ipi-halted has parameters (its hooks)");
	const struct kq_driver *scaling = kq_driver_find("exit.scaling");
	ok(scaling && scaling->run != kq_exit_run, "exit.scaling keeps a driver of its own");
	return done_testing();
}
