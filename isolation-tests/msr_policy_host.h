/* The host side of the MSR-policy tests that needs no VM: the host's own MSR
 * values through /dev/cpu/N/msr, and the rule that says when a value a guest
 * read is the host's. */
#ifndef KQ_ISO_MSR_POLICY_HOST_H
#define KQ_ISO_MSR_POLICY_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* MSRs whose host value is the host's own private state (kernel entry
 * points, per-CPU bases, the CPU number in TSC_AUX): a guest that reads one
 * of these values has seen the host. */
bool kq_msr_host_private(uint32_t index);

/* The CPU whose value of MSR `index` a guest read (guest == host[c], nonzero,
 * index host-private), or -1. host_ok[c] false: CPU c's value is unknown. */
int kq_msr_host_leak(uint32_t index, uint64_t guest, const uint64_t *host, const bool *host_ok,
		     int ncpus);

struct kq_host_msrs {
	int ncpus;
	int *fds; /* /dev/cpu/N/msr, read-only */
};

/* Opens /dev/cpu/N/msr for every online CPU N: 0; -1 with why (no msr
 * module, not root). */
int kq_host_msrs_open(struct kq_host_msrs *h, char *why, size_t len);
/* One MSR on CPU c: 0, or -1 when that CPU cannot read it (#GP on the host). */
int kq_host_msr_read(const struct kq_host_msrs *h, int c, uint32_t index, uint64_t *v);
void kq_host_msrs_close(struct kq_host_msrs *h);

#endif
