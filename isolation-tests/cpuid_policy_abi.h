/* CPUID-policy test: the leaves the host asks for (args[0]) and what the
 * guest's CPUID instruction answered. Host and guest. */
#ifndef KQ_ISO_CPUID_POLICY_ABI_H
#define KQ_ISO_CPUID_POLICY_ABI_H

#include <stdint.h>

#define KQ_CPUID_MAX_LEAVES 256

struct kq_cpuid_probe {
	uint32_t function, index; /* asked */
	uint32_t r[4];		  /* EAX, EBX, ECX, EDX seen by the guest */
};

struct kq_cpuid_table {
	uint32_t n;
	uint32_t finished;
	struct kq_cpuid_probe p[KQ_CPUID_MAX_LEAVES];
};

#endif
