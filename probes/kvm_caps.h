/* The KVM capabilities the suite uses: a table from the suite's short names
 * (the kernel's KVM_CAP_* name without the prefix, and without X86_ where the
 * kernel has it) to the capability numbers, and a checker for the
 * space-separated `requires =` lists of suite.conf. Numbers of capabilities
 * newer than the installed <linux/kvm.h> are filled in from the kernel's ABI
 * (they never change once released), so a binary built against old headers
 * still reports them on a newer kernel. */
#ifndef KQ_PROBES_KVM_CAPS_H
#define KQ_PROBES_KVM_CAPS_H

#include <stddef.h>

/* kq_kvm_cap.flags */
#define KQ_CAP_VM_SCOPED 0x1 /* the answer may differ per VM: ask a VM fd when one is open */

struct kq_kvm_cap {
	const char *name;   /* suite name, e.g. "MSR_FILTER" */
	long cap;	    /* KVM_CAP_* number */
	const char *what;   /* one line: what the suite needs it for */
	const char *kernel; /* the kernel's macro name, e.g. "KVM_CAP_X86_MSR_FILTER" */
	unsigned flags;	    /* KQ_CAP_* */
};

/* Looks a capability up by suite name, case-insensitively; the kernel's
 * spelling ("KVM_CAP_X86_MSR_FILTER", "X86_MSR_FILTER") is accepted too.
 * NULL if unknown. */
const struct kq_kvm_cap *kq_kvm_cap_by_name(const char *name);
/* Looks a capability up by number; NULL if not in the table. */
const struct kq_kvm_cap *kq_kvm_cap_by_number(long cap);
/* The whole table; *n receives its length (n may be NULL). */
const struct kq_kvm_cap *kq_kvm_caps(size_t *n);

/* KVM_CHECK_EXTENSION on fd (/dev/kvm or a VM fd). Returns the value (0 when
 * absent), or -1 with errno set when the ioctl fails. */
long kq_kvm_cap_value(int fd, const struct kq_kvm_cap *c);

/* Checks a space- (or comma-) separated list of capability names against fd.
 * Returns 1 when all are present (empty list included). Returns 0 with why
 * set to "missing KVM capability X (KVM_CAP_...)" for the first absent one, or
 * "unknown capability X" for a name not in the table. Returns -1 with why set
 * to "KVM_CHECK_EXTENSION(KVM_CAP_...): <strerror>" (errno kept) when the
 * ioctl fails. why may be NULL. */
int kq_kvm_caps_check(int fd, const char *list, char *why, size_t whylen);

#endif
