/* Guest side of PAUSE-loop exiting (row pause-loop in
 * workloads/exit_table.def), after kvm-unit-tests' ple_round_robin: the
 * vCPUs pass a token round robin, each spinning with PAUSE until its turn, as
 * contended spinlocks do. A spin longer than the host's PLE window (or pause
 * filter) exits, and KVM yields to another vCPU; one measured iteration is one
 * full round of the token from vCPU 0 back to vCPU 0. */
#include "workloads/exit_guest.h"

static volatile uint64_t token; /* vCPU (token % nr_vcpus) holds it */
static volatile int stop;

static void round_loop(void *ctx, uint64_t iters)
{
	uint32_t n = ((struct kq_params *)ctx)->nr_vcpus;
	for (uint64_t i = 0; i < iters; i++) {
		__atomic_add_fetch(&token, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&token, __ATOMIC_ACQUIRE) % n != 0)
			kq_pause();
	}
}

void kq_exit_pause_loop(struct kq_params *p, const char *kind)
{
	uint32_t n = p->nr_vcpus;
	KQ_GUEST_ASSERT(n >= 2);
	if (p->vcpu != 0) {
		/* Pass the token on whenever it is ours, until vCPU 0 stops. */
		for (;;) {
			uint64_t t;
			while ((t = __atomic_load_n(&token, __ATOMIC_ACQUIRE)) % n != p->vcpu) {
				if (__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
					return;
				kq_pause();
			}
			__atomic_store_n(&token, t + 1, __ATOMIC_RELEASE);
		}
	}
	kq_measure(kind, round_loop, p);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
}
