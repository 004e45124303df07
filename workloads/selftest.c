/* Workloads that fail on purpose, so the suite's own tests can check that a
 * crash, a hang or a guest fault fails its test alone and the run goes on. */
#include "workloads/vmhost.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static const struct kq_param_spec guest_params[] = {
    {"guest", KQ_PT_STRING, "guest workload to run (guest/selftest.c)"},
    {NULL, 0, NULL},
};

static void run_guest(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct kq_guest_opts go = {.guest_workload = kq_test_param(t, "guest", "selftest.boot")};
	kq_guest_run(t, o, res, &go);
}

static const struct kq_driver selftest_guest = {
    .name = "selftest.guest",
    .summary =
	"runs one of the guest runtime's self-test workloads (boot, triple-fault, hang, ...)",
    .needs_kvm = true,
    .params = guest_params,
    .run = run_guest,
};
KQ_DRIVER(selftest_guest)

static void run_crash(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	fprintf(stderr, "about to crash on purpose\n");
	raise(SIGSEGV);
}

static const struct kq_driver selftest_crash = {
    .name = "selftest.crash",
    .summary = "the test process crashes with SIGSEGV",
    .run = run_crash,
};
KQ_DRIVER(selftest_crash)

static void run_hang(const struct kq_driver *d, const struct kq_test *t,
		     const struct kq_run_opts *o, struct kq_result *res)
{
	for (;;)
		pause();
}

static const struct kq_driver selftest_hang = {
    .name = "selftest.hang",
    .summary = "the test process hangs on the host side",
    .run = run_hang,
};
KQ_DRIVER(selftest_hang)

static void run_pass(const struct kq_driver *d, const struct kq_test *t,
		     const struct kq_run_opts *o, struct kq_result *res)
{
	double v[] = {3, 1, 2};
	kq_result_add_samples(res, "demo.ns", "ns", v, 3);
}

static const struct kq_driver selftest_pass = {
    .name = "selftest.pass",
    .summary = "passes with a fixed sample set (median 2 ns), for runner and threshold tests",
    .run = run_pass,
};
KQ_DRIVER(selftest_pass)
