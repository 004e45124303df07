/* Guest side of the first exit benchmarks: CPUID (handled in the kernel) and
 * a port write handled in our userspace. */
#include "guest/guest.h"

static void cpuid_loop(void *ctx, uint64_t iters)
{
	uint32_t leaf = (uint32_t)(uintptr_t)ctx, r[4];
	for (uint64_t i = 0; i < iters; i++)
		kq_cpuid(leaf, 0, r);
}

static void exit_cpuid(struct kq_params *p)
{
	kq_measure("cpuid", cpuid_loop, (void *)(uintptr_t)p->args[0]);
}
KQ_GUEST_WORKLOAD("exit.cpuid", exit_cpuid);

static void pio_loop(void *ctx, uint64_t iters)
{
	for (uint64_t i = 0; i < iters; i++)
		kq_outb(KQ_PIO_BENCH_PORT, 0);
}

static void exit_pio_user(struct kq_params *p)
{
	kq_measure("pio-user", pio_loop, 0);
}
KQ_GUEST_WORKLOAD("exit.pio-user", exit_pio_user);
