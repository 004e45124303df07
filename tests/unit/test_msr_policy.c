/* The rule that says a guest saw a host MSR value (isolation-tests/
 * msr_policy_host.c), on values whose answers are known: it must fire on a
 * private MSR holding any one CPU's value, and only then. */
#include "tests/tap.h"
#include "isolation-tests/msr_policy_host.h"

int main(void)
{
	const uint64_t lstar = 0xffffffff81e00080ULL,
		       gsbase[3] = {0xffff88803ec00000ULL, 0xffff88803ed00000ULL,
				    0xffff88803ee00000ULL};
	const bool all[3] = {true, true, true}, not_cpu1[3] = {true, false, true};
	const uint64_t lstars[3] = {lstar, lstar, lstar};

	is_int(kq_msr_host_leak(0xc0000082, lstar, lstars, all, 3), 0,
	       "LSTAR equal to the host's: seen on CPU 0");
	is_int(kq_msr_host_leak(0xc0000101, gsbase[2], gsbase, all, 3), 2,
	       "GS_BASE equal to CPU 2's own: that CPU is named");
	is_int(kq_msr_host_leak(0xc0000101, gsbase[1], gsbase, not_cpu1, 3), -1,
	       "a CPU whose value is unknown is not compared");
	is_int(kq_msr_host_leak(0xc0000101, 0x200000, gsbase, all, 3), -1,
	       "the guest's own GS_BASE (its parameter page) is no leak");
	is_int(kq_msr_host_leak(0xc0000082, 0, (const uint64_t[3]){0, 0, 0}, all, 3), -1,
	       "zero equals zero but reveals nothing");
	is_int(kq_msr_host_leak(0x277, 0x0007040600070406ULL,
				(const uint64_t[3]){0x0007040600070406ULL}, all, 1),
	       -1, "PAT at its reset value on both sides is configuration, not host state");
	ok(kq_msr_host_private(0x176) && kq_msr_host_private(0xc0000103) &&
	       !kq_msr_host_private(0x10) && !kq_msr_host_private(0x1b),
	   "private: SYSENTER_EIP and TSC_AUX; not TSC or APIC_BASE");
	return done_testing();
}
