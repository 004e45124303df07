/* Helpers shared by the vmm's integration tests (test_vmm_*.c). */
#ifndef KQ_TESTS_VMM_TEST_H
#define KQ_TESTS_VMM_TEST_H

#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

#include <stdlib.h>

static struct kq_kvm kvm;

/* ok() that prints the vmm's error when the check fails. */
#define ok_vmm(cond, ...)                                                                          \
	do {                                                                                       \
		if (!ok(cond, __VA_ARGS__))                                                        \
			printf("#   %s\n", kq_err());                                              \
	} while (0)

/* Opens /dev/kvm or ends the test with one SKIP. */
static inline void vmm_test_open(void)
{
	if (kq_kvm_open(&kvm, NULL) < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "no KVM here (%s)", kq_err());
		tap_skip_all(why);
		exit(0);
	}
}

static inline bool vmm_test_emulated(void)
{
	const char *e = getenv("KVMQUAL_ENV");
	return e && strcmp(e, "emulated") == 0;
}

static inline struct kq_vm_config vmm_test_config(const char *workload, int vcpus)
{
	return (struct kq_vm_config){.vcpus = vcpus, .workload = workload, .time_limit_s = 30};
}

/* Runs v until its next event and checks it is ucall `kind`; the message in *uc. */
static inline bool vmm_test_expect_ucall(struct kq_vcpu *v, uint32_t kind,
					 const struct kq_ucall **uc, char *why, size_t len)
{
	struct kq_vcpu_event ev;
	if (kq_vcpu_run_once(v, &ev) < 0) {
		snprintf(why, len, "run_once: %s", kq_err());
		return false;
	}
	if (ev.kind != KQ_EV_UCALL || ev.ucall != kind) {
		snprintf(why, len, "event kind %d exit %s ucall %u (%s), want ucall %u",
			 (int)ev.kind, kq_exit_reason_name(ev.exit_reason), ev.ucall,
			 ev.uc ? ev.uc->text : kq_vcpu_failure(v), kind);
		return false;
	}
	if (uc)
		*uc = ev.uc;
	snprintf(why, len, "ok");
	return true;
}

#endif
