/* The KVM capability table and the `requires` checker. */
#include "probes/kvm_caps.h"
#include "tests/tap.h"

#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static void numbers(void)
{
	static const struct {
		const char *name;
		long cap;
		const char *kernel;
	} want[] = {
	    {"USER_MEMORY", 3, "KVM_CAP_USER_MEMORY"},
	    {"IMMEDIATE_EXIT", 136, "KVM_CAP_IMMEDIATE_EXIT"},
	    {"GET_TSC_KHZ", 61, "KVM_CAP_GET_TSC_KHZ"},
	    {"MSR_FILTER", 189, "KVM_CAP_X86_MSR_FILTER"},
	    {"USER_SPACE_MSR", 188, "KVM_CAP_X86_USER_SPACE_MSR"},
	    {"X2APIC_API", 129, "KVM_CAP_X2APIC_API"},
	    {"DISABLE_EXITS", 143, "KVM_CAP_X86_DISABLE_EXITS"},
	    {"BUS_LOCK_EXIT", 193, "KVM_CAP_X86_BUS_LOCK_EXIT"},
	    {"TSC_CONTROL", 60, "KVM_CAP_TSC_CONTROL"},
	    {"VM_TSC_CONTROL", 214, "KVM_CAP_VM_TSC_CONTROL"},
	    {"DIRTY_LOG_RING", 192, "KVM_CAP_DIRTY_LOG_RING"},
	    {"DIRTY_LOG_RING_ACQ_REL", 223, "KVM_CAP_DIRTY_LOG_RING_ACQ_REL"},
	    {"MANUAL_DIRTY_LOG_PROTECT2", 168, "KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2"},
	    {"IOEVENTFD", 36, "KVM_CAP_IOEVENTFD"},
	    {"IRQCHIP", 0, "KVM_CAP_IRQCHIP"},
	    {"SPLIT_IRQCHIP", 121, "KVM_CAP_SPLIT_IRQCHIP"},
	    {"NR_VCPUS", 9, "KVM_CAP_NR_VCPUS"},
	    {"MAX_VCPUS", 66, "KVM_CAP_MAX_VCPUS"},
	    {"NR_MEMSLOTS", 10, "KVM_CAP_NR_MEMSLOTS"},
	    {"READONLY_MEM", 81, "KVM_CAP_READONLY_MEM"},
	    {"TSC_DEADLINE_TIMER", 72, "KVM_CAP_TSC_DEADLINE_TIMER"},
	    {"XSAVE2", 208, "KVM_CAP_XSAVE2"},
	    {"BINARY_STATS_FD", 203, "KVM_CAP_BINARY_STATS_FD"},
	    {"NESTED_STATE", 157, "KVM_CAP_NESTED_STATE"},
	    {"USER_MEMORY2", 231, "KVM_CAP_USER_MEMORY2"},
	    {"GUEST_MEMFD", 234, "KVM_CAP_GUEST_MEMFD"},
	    {"VM_TYPES", 235, "KVM_CAP_VM_TYPES"},
	    {"PRE_FAULT_MEMORY", 236, "KVM_CAP_PRE_FAULT_MEMORY"},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct kq_kvm_cap *c = kq_kvm_cap_by_name(want[i].name);
		ok(c != NULL, "%s is in the table", want[i].name);
		if (!c)
			continue;
		is_int(c->cap, want[i].cap, "%s is capability %ld", want[i].name, want[i].cap);
		is_str(c->kernel, want[i].kernel, "%s is spelled %s by the kernel", want[i].name,
		       want[i].kernel);
		ok(c->what && c->what[0], "%s says what it is for", want[i].name);
	}
}

static void table(void)
{
	size_t n;
	const struct kq_kvm_cap *t = kq_kvm_caps(&n);
	ok(n >= 60, "table has %zu entries", n);
	int dup = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			dup += !strcmp(t[i].name, t[j].name) || t[i].cap == t[j].cap;
	is_int(dup, 0, "names and numbers are unique");
	ok(kq_kvm_caps(NULL) == t, "n may be NULL");

	is_str(kq_kvm_cap_by_name("msr_filter")->name, "MSR_FILTER", "lookup ignores case");
	is_str(kq_kvm_cap_by_name("KVM_CAP_X86_MSR_FILTER")->name, "MSR_FILTER",
	       "the kernel's full spelling is accepted");
	is_str(kq_kvm_cap_by_name("X86_DISABLE_EXITS")->name, "DISABLE_EXITS",
	       "the kernel spelling without prefix is accepted");
	ok(kq_kvm_cap_by_name("NO_SUCH_CAP") == NULL, "unknown name gives NULL");
	ok(kq_kvm_cap_by_name("") == NULL && kq_kvm_cap_by_name(NULL) == NULL,
	   "empty and NULL names give NULL");
	is_str(kq_kvm_cap_by_number(189)->name, "MSR_FILTER", "lookup by number");
	ok(kq_kvm_cap_by_number(100000) == NULL, "unknown number gives NULL");
	ok(kq_kvm_cap_by_name("DIRTY_LOG_RING")->flags & KQ_CAP_VM_SCOPED,
	   "DIRTY_LOG_RING is asked on a VM fd");
}

static void check_without_kvm(void)
{
	char why[256];
	int fd = open("/dev/null", O_RDWR);
	is_int(kq_kvm_caps_check(fd, "", why, sizeof(why)), 1, "empty list: all present");
	is_str(why, "", "no reason for an empty list");
	is_int(kq_kvm_caps_check(fd, NULL, why, sizeof(why)), 1, "NULL list: all present");
	is_int(kq_kvm_caps_check(fd, "  ,  ", why, sizeof(why)), 1, "separators only");
	is_int(kq_kvm_caps_check(fd, "FROBNICATE", why, sizeof(why)), 0, "unknown name gives 0");
	is_str(why, "unknown capability FROBNICATE", "unknown name is named");
	errno = 0;
	is_int(kq_kvm_caps_check(fd, "USER_MEMORY", why, sizeof(why)), -1,
	       "ioctl on a non-KVM fd gives -1");
	is_int(errno, ENOTTY, "errno kept (ENOTTY)");
	has_substr(why, "KVM_CHECK_EXTENSION(KVM_CAP_USER_MEMORY): ", "ioctl named");
	has_substr(why, strerror(ENOTTY), "errno named");
	close(fd);
	is_int(kq_kvm_caps_check(-1, "IMMEDIATE_EXIT", why, sizeof(why)), -1, "bad fd gives -1");
	is_int(errno, EBADF, "errno EBADF");
	char longname[200];
	memset(longname, 'A', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(kq_kvm_caps_check(-1, longname, why, sizeof(why)), 0, "overlong name is unknown");
	has_substr(why, "unknown capability AAAA", "overlong name shown shortened");
	is_int(kq_kvm_caps_check(-1, "FOO", NULL, 0), 0, "why may be NULL");
	char tiny[8];
	kq_kvm_caps_check(-1, "FROBNICATE", tiny, sizeof(tiny));
	is_str(tiny, "unknown", "why is cut to its size");
}

static void check_with_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		printf("# no /dev/kvm (%s): live capability checks skipped\n", strerror(errno));
		ok(1, "# SKIP no /dev/kvm");
		return;
	}
	char why[256];
	is_int(kq_kvm_caps_check(fd, "USER_MEMORY, IMMEDIATE_EXIT", why, sizeof(why)), 1,
	       "USER_MEMORY and IMMEDIATE_EXIT present");
	size_t n;
	const struct kq_kvm_cap *t = kq_kvm_caps(&n);
	const struct kq_kvm_cap *absent = NULL;
	for (size_t i = 0; i < n && !absent; i++)
		if (kq_kvm_cap_value(fd, &t[i]) == 0)
			absent = &t[i];
	if (absent) {
		char list[128], want[256];
		snprintf(list, sizeof(list), "USER_MEMORY %s", absent->name);
		snprintf(want, sizeof(want), "missing KVM capability %s (%s)", absent->name,
			 absent->kernel);
		is_int(kq_kvm_caps_check(fd, list, why, sizeof(why)), 0, "absent %s gives 0",
		       absent->name);
		is_str(why, want, "absent capability named with its kernel name");
	}
	close(fd);
}

int main(void)
{
	numbers();
	table();
	check_without_kvm();
	check_with_kvm();
	return done_testing();
}
