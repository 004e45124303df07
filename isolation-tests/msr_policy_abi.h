/* MSR-policy tests: the MSRs the host asks the guest to read (args[0]) and
 * what each RDMSR gave. Host and guest. */
#ifndef KQ_ISO_MSR_POLICY_ABI_H
#define KQ_ISO_MSR_POLICY_ABI_H

#include <stdint.h>

#define KQ_MSR_MAX 1024

struct kq_msr_probe {
	uint32_t index;
	uint32_t gp; /* 1: RDMSR raised #GP */
	uint64_t value;
};

struct kq_msr_table {
	uint32_t n;
	uint32_t finished;
	uint64_t current; /* the probe in progress: the host's exit handler reads it */
	struct kq_msr_probe p[KQ_MSR_MAX];
};

#endif
