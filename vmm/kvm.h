/* /dev/kvm: the system fd, API version, capabilities, supported CPUID. */
#ifndef KQ_VMM_KVM_H
#define KQ_VMM_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define KQ_KVM_API_VERSION 12

struct kq_kvm {
	int fd;
	int run_size;		  /* KVM_GET_VCPU_MMAP_SIZE */
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, owned */
};

/* Opens the device (path NULL: /dev/kvm or $KVMQUAL_KVM_DEV) and checks the API version.
 * Without permission on the device, errno is EACCES or EPERM on return and the
 * message names the kvm group. */
int kq_kvm_open(struct kq_kvm *k, const char *path);
void kq_kvm_close(struct kq_kvm *k);
/* KVM_CHECK_EXTENSION on fd (system or VM); returns the value, or -1 on error. */
int kq_kvm_check(int fd, long cap, const char *cap_name);
#define KQ_KVM_CHECK(fd, cap) kq_kvm_check((fd), (cap), #cap)

/* KVM_GET_CPUID2 on a vCPU into a malloc'd list of exactly its entries
 * (the caller frees it), or NULL with kq_err(). */
struct kvm_cpuid2 *kq_cpuid_get_vcpu(int vcpu_fd);
/* KVM_GET_SUPPORTED_CPUID on the system fd into *out (malloc'd, the
 * caller frees); -1 with kq_err(). */
int kq_kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out);
/* Finds a leaf in the supported CPUID list; NULL when absent. */
struct kvm_cpuid_entry2 *kq_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx);
bool kq_cpu_is_intel(const struct kq_kvm *k);
/* Whether the guest may use 1 GiB pages (CPUID 0x80000001 EDX bit 26). */
bool kq_cpu_has_1g_pages(const struct kq_kvm *k);

#endif
