/* Guest side of the first exit benchmarks: CPUID (handled in the kernel) and
 * a port write handled in our userspace. */
#include "guest/guest.h"
#include "workloads/exit_loops.h"

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

void kq_pio_user_loop(void *ctx, uint64_t iters)
{
	uint64_t i = 0;
	if (!iters)
		return;
	__asm__ volatile("1: outb %%al, %%dx\n\t"
			 "add $1, %%rcx\n\t"
			 "cmp %%rcx, %%rsi\n\t"
			 "jne 1b"
			 : "+c"(i)
			 : "a"(0), "d"(KQ_PIO_BENCH_PORT), "S"(iters)
			 : "memory", "cc");
}

static void exit_pio_user(struct kq_params *p)
{
	kq_measure("pio-user", kq_pio_user_loop, 0);
}
KQ_GUEST_WORKLOAD("exit.pio-user", exit_pio_user);
