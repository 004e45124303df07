/* Guest side of the first exit kinds: CPUID (handled in the kernel) and a
 * port write handled in our userspace (rows in workloads/exit_table.def). */
#include "workloads/exit_guest.h"

/* ctx: the vCPU's parameters; args[0] is the leaf. */
void kq_exit_cpuid_loop(void *ctx, uint64_t iters)
{
	uint32_t leaf = (uint32_t)((struct kq_params *)ctx)->args[0], r[4];
	for (uint64_t i = 0; i < iters; i++)
		kq_cpuid(leaf, 0, r);
}

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
