/* Shared by the integration tests that run drivers as the suite does
 * (test_exits, test_memory, test_memory_costs, test_migration). */
#ifndef KQ_TESTS_SUITE_TEST_H
#define KQ_TESTS_SUITE_TEST_H

#include "runner/conf.h"
#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <stdio.h>
#include <stdlib.h>

/* Ends the test with one SKIP where this host has no usable /dev/kvm. */
static inline void suite_test_need_kvm(void)
{
	struct kq_kvm kvm;
	if (kq_kvm_open(&kvm, NULL) < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "no KVM here (%s)", kq_err());
		tap_skip_all(why);
		exit(0);
	}
	kq_kvm_close(&kvm);
}

/* Loads $KVMQUAL_CONF or suite.conf into *s; false (a failed check and the
 * loader's errors printed) when it does not load. */
static inline bool suite_test_load(struct kq_suite *s)
{
	const char *conf = getenv("KVMQUAL_CONF") ? getenv("KVMQUAL_CONF") : "suite.conf";
	if (kq_suite_load(s, conf) == 0)
		return true;
	ok(0, "%s loads (run from the repository root or set KVMQUAL_CONF)", conf);
	printf("# %s", s->errors);
	return false;
}

#endif
