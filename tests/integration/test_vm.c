/* Integration: real VMs through the vmm library. Needs /dev/kvm (run inside
 * the emulated host by `make check`); without it, one SKIP with the reason. */
#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/vm.h"

#include <stdlib.h>

struct seen {
	int results, prints, samples;
	uint64_t last_value;
	char text[256];
};

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct seen *s = ctx;
	if (uc->kind == KQ_UC_RESULT)
		s->results++, s->last_value = uc->args[0];
	else if (uc->kind == KQ_UC_PRINT)
		s->prints++, snprintf(s->text, sizeof(s->text), "%s", uc->text);
	else if (uc->kind == KQ_UC_SAMPLES)
		s->samples += (int)uc->count;
	return 0;
}

static int on_bench_port(void *ctx, struct kq_vcpu *v, uint16_t port, uint8_t *data, int size,
			 bool is_write)
{
	return 0;
}

static struct kq_kvm kvm;

/* Runs one VM; returns kq_vm_run's result and copies the failure text. */
static int run_vm(struct kq_vm_config *c, struct seen *s, char *failure, size_t len)
{
	struct kq_vm *vm;
	memset(s, 0, sizeof(*s));
	failure[0] = 0;
	if (kq_vm_create(&vm, &kvm, c) < 0) {
		snprintf(failure, len, "create: %s", kq_err());
		return kq_err_is_unavailable() ? -2 : -1;
	}
	kq_vm_set_ucall_handler(vm, on_ucall, s);
	kq_vm_register_pio(vm, KQ_PIO_BENCH_PORT, 1, on_bench_port, NULL);
	int r = kq_vm_run(vm);
	snprintf(failure, len, "%s", r < 0 ? kq_vm_failure(vm) : "");
	kq_vm_destroy(vm);
	return r;
}

static struct kq_vm_config base(const char *workload, int vcpus)
{
	return (struct kq_vm_config){
	    .vcpus = vcpus, .workload = workload, .time_limit_s = 120, .time_goal_cycles = 0};
}

int main(void)
{
	if (kq_kvm_open(&kvm, NULL) < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "no KVM here (%s)", kq_err());
		tap_skip_all(why);
		return 0;
	}
	struct seen s;
	char fail[1024];
	struct kq_vm_config c = base("selftest.boot", 1);
	int r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r == 0, "a VM boots in long mode and reports DONE (%s)", fail);
	is_int(s.results, 1, "its result ucall arrived");
	has_substr(s.text, "hello from vCPU 0 of 1", "its print ucall arrived with formatted text");

	c = base("selftest.boot", 4);
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r == 0 && s.prints == 4, "four vCPUs each boot and report (%s)", fail);

	c = base("selftest.triple-fault", 1);
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r < 0, "a triple fault fails the run");
	has_substr(fail, "triple fault", "the failure says triple fault");
	has_substr(fail, "RIP 0x", "the failure gives the RIP");

	c = base("selftest.hang", 2);
	c.time_limit_s = 1.0;
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r < 0, "a hung guest is stopped");
	has_substr(fail, "watchdog", "by the watchdog");

	c = base("selftest.exception", 1);
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r < 0, "an unexpected exception fails the run");
	has_substr(fail, "#UD (vector 6)", "and is reported with its vector");

	c = base("selftest.assert", 1);
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r < 0, "a guest assertion fails the run");
	has_substr(fail, "guest/selftest.c:", "with the guest's file:line");
	has_substr(fail, "p->nr_vcpus == 0", "and the expression");

	c = base("selftest.nonexistent", 1);
	r = run_vm(&c, &s, fail, sizeof(fail));
	has_substr(fail, "guest assertion failed", "an unknown guest workload fails clearly");

	static const struct {
		enum kq_backing b;
		enum kq_pagesz p;
	} mems[] = {
	    {KQ_BACK_ANON, KQ_PG_4K},	    {KQ_BACK_ANON, KQ_PG_2M},
	    {KQ_BACK_THP, KQ_PG_2M},	    {KQ_BACK_MEMFD, KQ_PG_4K},
	    {KQ_BACK_ANON, KQ_PG_1G},	    {KQ_BACK_HUGETLB_2M, KQ_PG_2M},
	    {KQ_BACK_HUGETLB_1G, KQ_PG_1G},
	};
	for (size_t i = 0; i < sizeof(mems) / sizeof(mems[0]); i++) {
		c = base("selftest.touch", 1);
		c.backing = mems[i].b;
		c.page_size = mems[i].p;
		c.test_mem = mems[i].p == KQ_PG_1G ? 1ULL << 30 : 16ULL << 20;
		r = run_vm(&c, &s, fail, sizeof(fail));
		if (r == -2) {
			printf("ok %d - # SKIP %s memory with %s guest pages: %s\n", ++tap_n,
			       kq_backing_name(c.backing), kq_page_size_name(c.page_size), fail);
			continue;
		}
		ok(r == 0 && s.last_value == c.test_mem / 4096,
		   "%s memory with %s guest pages: every page written and read back (%s)",
		   kq_backing_name(c.backing), kq_page_size_name(c.page_size), fail);
	}

	c = base("exit.pio-user", 1);
	c.time_goal_cycles = 1; /* smallest run: warm-up plus the minimum batches */
	r = run_vm(&c, &s, fail, sizeof(fail));
	ok(r == 0 && s.samples >= 8,
	   "exit.pio-user measures through a registered port (%d samples, %s)", s.samples, fail);
	kq_kvm_close(&kvm);
	return done_testing();
}
