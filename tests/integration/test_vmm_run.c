/* Integration: run control. run_once steps through a guest's SYNCs; two VMs
 * run in lockstep from one thread; a running multi-vCPU VM is paused (no
 * progress, registers readable) and resumed (progress again); wait times
 * out while the guest runs; the watchdog stops a run_once, and a limit past
 * 64-bit nanoseconds never fires. Needs /dev/kvm;
 * without it, one SKIP. */
#include "tests/integration/vmm_test.h"
#include "workloads/vmm_selftest.h"

#include <time.h>

#define STEPS 5

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* One SYNC step of vmm.steps: expects SYNC i and replies i * 7. */
static bool step(struct kq_vcpu *v, uint64_t i, char *why, size_t len)
{
	const struct kq_ucall *uc;
	if (!vmm_test_expect_ucall(v, KQ_UC_SYNC, &uc, why, len))
		return false;
	if (uc->args[0] != i) {
		snprintf(why, len, "SYNC %llu, want %llu", (unsigned long long)uc->args[0],
			 (unsigned long long)i);
		return false;
	}
	return kq_vcpu_ucall_reply(v, 1, i * 7) == 0;
}

static void run_once_steps(void)
{
	struct kq_vm_config c = vmm_test_config("vmm.steps", 1);
	c.args[0] = STEPS;
	struct kq_vm *a, *b;
	if (kq_vm_create(&a, &kvm, &c) < 0 || kq_vm_create(&b, &kvm, &c) < 0) {
		ok(0, "two VMs created: %s", kq_err());
		return;
	}
	char why[256] = "ok";
	bool good = true;
	for (uint64_t i = 1; i <= STEPS && good; i++)
		good = step(kq_vm_vcpu(a, 0), i, why, sizeof(why));
	ok(good, "run_once steps through %d SYNCs, each answered (%s)", STEPS, why);
	ok(vmm_test_expect_ucall(kq_vm_vcpu(a, 0), KQ_UC_DONE, NULL, why, sizeof(why)) &&
	       kq_vcpu_done(kq_vm_vcpu(a, 0)),
	   "then DONE (%s)", why);
	kq_vm_destroy(a);

	/* Lockstep: a second VM and a fresh first one, one step each in turn. */
	if (kq_vm_create(&a, &kvm, &c) < 0) {
		ok(0, "VM created: %s", kq_err());
		kq_vm_destroy(b);
		return;
	}
	good = true;
	for (uint64_t i = 1; i <= STEPS && good; i++)
		good = step(kq_vm_vcpu(a, 0), i, why, sizeof(why)) &&
		       kq_vcpu_ucall_count(kq_vm_vcpu(b, 0)) == (i == 1 ? 0 : i) &&
		       step(kq_vm_vcpu(b, 0), i, why, sizeof(why)) &&
		       kq_vcpu_ucall_count(kq_vm_vcpu(a, 0)) == i + 1;
	ok(good, "two VMs advance in lockstep, one SYNC each in turn (%s)", why);
	ok(vmm_test_expect_ucall(kq_vm_vcpu(a, 0), KQ_UC_DONE, NULL, why, sizeof(why)) &&
	       vmm_test_expect_ucall(kq_vm_vcpu(b, 0), KQ_UC_DONE, NULL, why, sizeof(why)),
	   "both reach DONE (%s)", why);
	kq_vm_destroy(a);
	kq_vm_destroy(b);
}

static uint64_t counter(struct kq_vm *vm, int i)
{
	uint64_t n = 0;
	kq_vm_read(vm, KQ_TEST_GPA + (uint64_t)i * KQ_COUNT_STRIDE, &n, 8);
	return n;
}

/* Waits up to 10 s until every vCPU's counter exceeds floor[i]. */
static bool all_advance(struct kq_vm *vm, int n, const uint64_t *floor)
{
	for (int t = 0; t < 1000; t++) {
		int moved = 0;
		for (int i = 0; i < n; i++)
			moved += counter(vm, i) > floor[i];
		if (moved == n)
			return true;
		sleep_ms(10);
	}
	return false;
}

static void pause_resume(void)
{
	enum { N = 2 };
	struct kq_vm_config c = vmm_test_config("vmm.count", N);
	c.test_mem = 2ULL << 20;
	c.page_size = KQ_PG_2M;
	c.args[0] = KQ_TEST_GPA;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &kvm, &c) < 0) {
		ok(0, "VM created: %s", kq_err());
		return;
	}
	uint64_t zero[N] = {0}, c1[N], c2[N];
	ok_vmm(kq_vm_start(vm) == 0, "%d vCPU threads started", N);
	ok(kq_vm_start(vm) < 0, "a second start is refused");
	ok(all_advance(vm, N, zero), "every vCPU counts");
	ok(kq_vm_wait(vm, 0.05) == 1, "wait with a 50 ms timeout returns 1 while they run");
	ok_vmm(kq_vm_pause(vm) == 0, "pause returns");
	struct kvm_regs r;
	bool regs = true;
	for (int i = 0; i < N; i++) {
		c1[i] = counter(vm, i);
		regs = regs && kq_vcpu_get_regs(kq_vm_vcpu(vm, i), &r) == 0 && r.rip > 0x100000;
	}
	ok_vmm(regs, "every paused vCPU's registers read back (RIP in the image)");
	sleep_ms(vmm_test_emulated() ? 300 : 100);
	bool still = true;
	for (int i = 0; i < N; i++)
		still = still && counter(vm, i) == c1[i];
	ok(still, "no vCPU counts while paused (vCPU 0 stays at %llu)", (unsigned long long)c1[0]);
	ok_vmm(kq_vm_resume(vm) == 0, "resume returns");
	for (int i = 0; i < N; i++)
		c2[i] = counter(vm, i);
	ok(all_advance(vm, N, c2), "after resume every vCPU counts again");
	ok(kq_vm_pause(vm) == 0 && kq_vm_resume(vm) == 0, "a second pause and resume");
	uint64_t stop = 1;
	kq_vm_write(vm, KQ_TEST_GPA + KQ_COUNT_STOP, &stop, 8);
	int w = kq_vm_wait(vm, 20);
	ok(w == 0, "the guest sees the stop word and every vCPU reaches DONE (%d: %s)", w,
	   kq_vm_failure(vm));
	ok(kq_vm_resume(vm) < 0, "resume of a VM not paused is an error");
	kq_vm_destroy(vm);
}

static void watchdog_run_once(void)
{
	struct kq_vm_config c = vmm_test_config("selftest.hang", 1);
	c.time_limit_s = 0.5;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &kvm, &c) < 0) {
		ok(0, "VM created: %s", kq_err());
		return;
	}
	struct kq_vcpu_event ev;
	int r = kq_vcpu_run_once(kq_vm_vcpu(vm, 0), &ev);
	ok(r == 0 && ev.kind == KQ_EV_STOPPED, "the watchdog stops a hung run_once");
	has_substr(kq_vm_failure(vm), "watchdog", "and says so");
	kq_vm_destroy(vm);
}

/* A limit beyond 64-bit nanoseconds must not wrap the deadline into the past. */
static void watchdog_far_limit(void)
{
	struct kq_vm_config c = vmm_test_config("selftest.boot", 1);
	c.time_limit_s = 1e11;
	struct kq_vm *vm;
	if (kq_vm_create(&vm, &kvm, &c) < 0) {
		ok(0, "VM created: %s", kq_err());
		return;
	}
	int r = kq_vm_run(vm);
	ok(r == 0, "a 1e11 s time limit lets a short guest finish (%s)",
	   r ? kq_vm_failure(vm) : "ok");
	kq_vm_destroy(vm);
}

int main(void)
{
	vmm_test_open();
	run_once_steps();
	pause_resume();
	watchdog_run_once();
	watchdog_far_limit();
	kq_kvm_close(&kvm);
	return done_testing();
}
