/* Raw CPUID leaves: gathered live, parsed from a `cpuid -r` style dump (the
 * fixture's kvmqual/cpuid.txt), or taken from KVM_GET_SUPPORTED_CPUID; and
 * decoded where libcpuid 0.6.2 has no flag: speculation-control bits of leaf
 * 7 and 0x80000008/0x80000021, SVM features (0x8000000A), memory encryption
 * (0x8000001F), the hypervisor leaves (0x40000000). */
#ifndef KQ_PROBES_CPUID_H
#define KQ_PROBES_CPUID_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kq_cpuid_entry {
	uint32_t fn, idx; /* leaf and subleaf (0 for leaves without subleaves) */
	uint32_t eax, ebx, ecx, edx;
};

struct kq_cpuid {
	size_t n, cap;
	struct kq_cpuid_entry *e;
};

enum kq_cpuid_reg { KQ_EAX, KQ_EBX, KQ_ECX, KQ_EDX };

/* Executes CPUID on the current CPU for every valid leaf and subleaf. */
int kq_cpuid_read_live(struct kq_cpuid *c);
/* Parses lines "0x00000007 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x..."
 * (the output of `cpuid -r -1`, or of `kvmqual probe --record`); other lines
 * are ignored, and only the first CPU's block is read. Returns the number of
 * leaves, or -1 with why set when none is found or a leaf line is malformed. */
int kq_cpuid_parse(struct kq_cpuid *c, const char *text, char *why, size_t whylen);
/* Writes the dump format that kq_cpuid_parse reads. Returns malloc'd text. */
char *kq_cpuid_format(const struct kq_cpuid *c);
int kq_cpuid_add(struct kq_cpuid *c, const struct kq_cpuid_entry *e);
void kq_cpuid_free(struct kq_cpuid *c);

const struct kq_cpuid_entry *kq_cpuid_get(const struct kq_cpuid *c, uint32_t fn, uint32_t idx);
/* One bit of one register; false when the leaf is absent. */
bool kq_cpuid_bit(const struct kq_cpuid *c, uint32_t fn, uint32_t idx, enum kq_cpuid_reg r,
		  int bit);
uint32_t kq_cpuid_reg(const struct kq_cpuid *c, uint32_t fn, uint32_t idx, enum kq_cpuid_reg r);

/* Vendor string from leaf 0 ("GenuineIntel"), "" when absent. */
void kq_cpuid_vendor(const struct kq_cpuid *c, char out[13]);
/* Hypervisor signature from 0x40000000 ("KVMKVMKVM", "TCGTCGTCGTCG"), "" when
 * the hypervisor bit is clear or the leaf absent. */
void kq_cpuid_hv_signature(const struct kq_cpuid *c, char out[13]);
/* A readable name for a hypervisor signature ("KVM", "QEMU TCG", "Hyper-V"...). */
const char *kq_cpuid_hv_name(const char *sig);

/* The decoded object described in docs/probes.md ("cpu.cpuid"). */
json_t *kq_cpuid_decode(const struct kq_cpuid *c);
/* Feature names that a CPUID table sets, for KVM_GET_SUPPORTED_CPUID checks
 * ("pdpe1gb", "x2apic", "tsc_deadline", "invariant_tsc", ...). */
json_t *kq_cpuid_features(const struct kq_cpuid *c);
/* True when the named feature (one of kq_cpuid_features' names) is set;
 * -1 when the name is unknown. */
int kq_cpuid_has(const struct kq_cpuid *c, const char *name);

#endif
