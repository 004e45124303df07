#include "vmm/kvm.h"
#include "vmm/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kq_kvm_get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	/* The kernel answers E2BIG until the buffer is large enough. */
	for (int n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return kq_err_set("out of memory for CPUID entries");
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		int e = errno;
		free(c);
		if (e != E2BIG) {
			errno = e;
			return kq_err_errno("ioctl KVM_GET_SUPPORTED_CPUID");
		}
	}
	return kq_err_set("ioctl KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int kq_kvm_open(struct kq_kvm *k, const char *path)
{
	memset(k, 0, sizeof(*k));
	k->fd = -1;
	if (!path)
		path = getenv("KVMQUAL_KVM_DEV");
	if (!path)
		path = "/dev/kvm";
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0 && (errno == EACCES || errno == EPERM)) {
		/* The device is there: this user lacks the right to it. */
		int e = errno;
		kq_err_set("open %s: %s (%s): this user may not use KVM; add it to the kvm group "
			   "(sudo usermod -aG kvm $USER) and log in again",
			   path, strerror(e), kq_errno_name(e));
		errno = e; /* callers tell a permission problem from a missing device */
		return -1;
	}
	if (k->fd < 0)
		return kq_err_errno("open %s", path);
	long v = KQ_IOCTL(k->fd, KVM_GET_API_VERSION, NULL);
	if (v < 0)
		goto fail;
	if (v != KQ_KVM_API_VERSION) {
		kq_err_set("%s: KVM API version %ld, need %d", path, v, KQ_KVM_API_VERSION);
		goto fail;
	}
	k->run_size = (int)KQ_IOCTL(k->fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (k->run_size < 0 || kq_kvm_get_supported_cpuid(k->fd, &k->cpuid) < 0)
		goto fail;
	return 0;
fail:
	close(k->fd);
	k->fd = -1;
	return -1;
}

void kq_kvm_close(struct kq_kvm *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->cpuid);
	k->cpuid = NULL;
	k->fd = -1;
}

int kq_kvm_check(int fd, long cap, const char *cap_name)
{
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);
	if (r < 0)
		return kq_err_errno("ioctl KVM_CHECK_EXTENSION(%s)", cap_name);
	return r;
}

struct kvm_cpuid_entry2 *kq_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    (!(c->entries[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     c->entries[i].index == idx))
			return &c->entries[i];
	return NULL;
}

bool kq_cpu_is_intel(const struct kq_kvm *k)
{
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(k->cpuid, 0, 0);
	/* "GenuineIntel": EBX "Genu", EDX "ineI", ECX "ntel". */
	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 && e->ecx == 0x6c65746e;
}

bool kq_cpu_has_1g_pages(const struct kq_kvm *k)
{
	struct kvm_cpuid_entry2 *e = kq_cpuid_find(k->cpuid, 0x80000001, 0);
	return e && (e->edx & (1u << 26));
}

struct kvm_cpuid2 *kq_cpuid_get_vcpu(int vcpu_fd)
{
	/* KVM holds at most 256 entries per vCPU (KVM_MAX_CPUID_ENTRIES). */
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	if (!c) {
		kq_err_set("out of memory for CPUID");
		return NULL;
	}
	c->nent = 256;
	if (KQ_IOCTL(vcpu_fd, KVM_GET_CPUID2, c) < 0) {
		free(c);
		return NULL;
	}
	/* Kernels before 6.3 or so leave nent as asked: the list then ends at
	 * the first all-zero entry (a real leaf 0 has a non-zero EAX). */
	static const struct kvm_cpuid_entry2 zero;
	for (uint32_t i = 0; i < c->nent; i++)
		if (memcmp(&c->entries[i], &zero, sizeof(zero)) == 0) {
			c->nent = i;
			break;
		}
	return c;
}
