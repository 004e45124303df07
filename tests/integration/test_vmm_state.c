/* Integration: VM state out and in on real VMs. For 1 and 2 vCPUs, without
 * and with the in-kernel irqchip (and split): run the guest computation
 * (workloads/vmm_state.guest.c) part-way, save, encode, decode, restore into
 * a new VM of the same configuration with guest memory copied across, save
 * again and compare (only the fields docs/state.md lists as moving may
 * differ), then finish both guests and require the same result, equal to
 * the host's own computation. vCPUs are driven with KVM_RUN here, one at a
 * time, reading the guest's ucalls from the port exits. */
#include "tests/tap.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/state.h"
#include "vmm/vm.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define STAGES	6
#define SAVE_AT 3
#define MAXV	2

/* MSRs whose value moves between a save and the save-again (docs/state.md). */
static const struct {
	uint32_t index;
	const char *name;
} moving_msrs[] = {
    {0x10, "MSR_IA32_TSC"},		       /* the guest TSC counts on */
    {0x40000010, "HV_X64_MSR_VP_RUNTIME"},     /* host run time of the vCPU's thread */
    {0x40000020, "HV_X64_MSR_TIME_REF_COUNT"}, /* follows kvmclock; writes ignored */
};

static const char *moving_msr(uint32_t index)
{
	for (size_t k = 0; k < sizeof(moving_msrs) / sizeof(moving_msrs[0]); k++)
		if (moving_msrs[k].index == index)
			return moving_msrs[k].name;
	return NULL;
}

static struct kq_kvm kvm;
/* 2 KiB per vCPU: on the nested build host every guest loop iteration over
 * test memory cost ~30 us, so more words only slow the test down. */
static const uint64_t words = 256;

struct drv {
	struct kq_vm *vm;
	int n;
	struct kvm_run *run[MAXV];
	size_t run_size;
	uint64_t result[MAXV];
	char err[512];
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The guest's computation, done here independently (vmm_state.guest.c). */
static uint64_t expected(uint32_t vcpu)
{
	uint64_t *buf = malloc(words * 8), acc = mix(0x243f6a8885a308d3ULL + vcpu);
	for (uint64_t i = 0; i < words; i++)
		buf[i] = mix(acc + i);
	for (uint64_t s = 1; s <= STAGES; s++) {
		for (uint64_t i = 0; i < words; i++) {
			buf[i] = mix(buf[i] ^ acc ^ i);
			acc = mix(acc + buf[i]);
		}
		acc = mix(acc ^ (mix(acc ^ s) & 0x00007fffffffffffULL));
	}
	free(buf);
	return acc;
}

static int drv_create(struct drv *d, int n, enum kq_irqchip chip)
{
	memset(d, 0, sizeof(*d));
	struct kq_vm_config c = {.vcpus = n,
				 .test_mem = 2ULL << 20,
				 .backing = KQ_BACK_ANON,
				 .page_size = KQ_PG_4K,
				 .irqchip = chip,
				 .workload = "vmm.state",
				 .args = {STAGES, words}};
	if (kq_vm_create(&d->vm, &kvm, &c) < 0)
		return kq_err_is_unavailable() ? -2 : -1;
	d->n = n;
	d->run_size = (size_t)kq_vm_kvm(d->vm)->run_size;
	for (int i = 0; i < n; i++) {
		d->run[i] = mmap(NULL, d->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 kq_vcpu_fd(kq_vm_vcpu(d->vm, i)), 0);
		if (d->run[i] == MAP_FAILED) {
			d->run[i] = NULL;
			return kq_err_errno("mmap kvm_run");
		}
	}
	return 0;
}

static void drv_destroy(struct drv *d)
{
	for (int i = 0; i < d->n; i++)
		if (d->run[i])
			munmap(d->run[i], d->run_size);
	kq_vm_destroy(d->vm);
	d->vm = NULL;
}

/* Runs vCPU i to its next SYNC (returns the stage) or DONE (returns 0); -1
 * with d->err on anything else. */
static int run_to_event(struct drv *d, int i)
{
	int fd = kq_vcpu_fd(kq_vm_vcpu(d->vm, i));
	struct kvm_run *r = d->run[i];
	for (int exits = 0; exits < 10000; exits++) {
		if (ioctl(fd, KVM_RUN, NULL) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(d->err, sizeof(d->err), "vCPU %d: KVM_RUN: %s", i,
				 strerror(errno));
			return -1;
		}
		if (r->exit_reason != KVM_EXIT_IO || r->io.port != KQ_UCALL_PORT ||
		    r->io.direction != KVM_EXIT_IO_OUT || r->io.size != 4) {
			snprintf(d->err, sizeof(d->err), "vCPU %d: unexpected exit %s (%u)", i,
				 kq_exit_reason_name(r->exit_reason), r->exit_reason);
			return -1;
		}
		uint32_t gpa;
		memcpy(&gpa, (uint8_t *)r + r->io.data_offset, 4);
		struct kq_ucall *uc = kq_vm_gpa_to_hva(d->vm, gpa, sizeof(*uc));
		if (!uc) {
			snprintf(d->err, sizeof(d->err), "vCPU %d: ucall at 0x%x outside RAM", i,
				 gpa);
			return -1;
		}
		switch (uc->kind) {
		case KQ_UC_BOOT:
			continue;
		case KQ_UC_SYNC:
			return (int)uc->args[0];
		case KQ_UC_RESULT:
			if (strcmp(uc->name, "vmm.state") == 0)
				d->result[i] = uc->args[0];
			else if (i == 0)
				printf("# guest result %s = %llu\n", uc->name,
				       (unsigned long long)uc->args[0]);
			continue;
		case KQ_UC_PRINT:
			printf("# guest: %.200s\n", uc->text);
			continue;
		case KQ_UC_DONE:
			return 0;
		case KQ_UC_ASSERT:
			snprintf(d->err, sizeof(d->err), "vCPU %d: guest assertion: %.200s", i,
				 uc->text);
			return -1;
		case KQ_UC_EXCEPTION:
			snprintf(d->err, sizeof(d->err),
				 "vCPU %d: guest exception %s at RIP 0x%llx", i,
				 kq_exception_name((unsigned)uc->args[0]),
				 (unsigned long long)uc->args[1]);
			return -1;
		default:
			snprintf(d->err, sizeof(d->err), "vCPU %d: ucall kind %u", i, uc->kind);
			return -1;
		}
	}
	snprintf(d->err, sizeof(d->err), "vCPU %d: no ucall within 10000 exits", i);
	return -1;
}

/* Runs every vCPU through stages up to `last` (0: to DONE). */
static int advance(struct drv *d, int first, int last)
{
	for (int i = 0; i < d->n; i++) {
		for (int s = first; last == 0 || s <= last; s++) {
			int e = run_to_event(d, i);
			if (e < 0)
				return -1;
			if (last == 0 && s > STAGES) {
				if (e != 0)
					return snprintf(d->err, sizeof(d->err),
							"vCPU %d: event %d, want DONE", i, e),
					       -1;
				break;
			}
			if (e != s) {
				snprintf(d->err, sizeof(d->err), "vCPU %d: stage %d, want %d", i, e,
					 s);
				return -1;
			}
		}
	}
	return 0;
}

static uint64_t sys_slot_size(struct kq_vm *vm)
{
	uint64_t size = 0;
	for (uint64_t len = 2ULL << 20; len <= 1ULL << 30; len += 2ULL << 20) {
		if (!kq_vm_gpa_to_hva(vm, 0, len))
			break;
		size = len;
	}
	return size;
}

static int copy_memory(struct kq_vm *from, struct kq_vm *to)
{
	uint64_t sys = sys_slot_size(from);
	const struct kq_mem *tf = kq_vm_test_mem(from), *tt = kq_vm_test_mem(to);
	if (!sys || sys != sys_slot_size(to) || tf->size != tt->size)
		return -1;
	memcpy(kq_vm_gpa_to_hva(to, 0, sys), kq_vm_gpa_to_hva(from, 0, sys), sys);
	memcpy(tt->host, tf->host, tf->size);
	return 0;
}

static const char *who(uint32_t vcpu)
{
	static char buf[16];
	if (vcpu == KQ_STATE_VM)
		return "vm";
	snprintf(buf, sizeof(buf), "vcpu%u", vcpu);
	return buf;
}

#define DIFF(...)                                                                                  \
	do {                                                                                       \
		ndiff++;                                                                           \
		if (used < len)                                                                    \
			used += (size_t)snprintf(out + used, len - used, __VA_ARGS__);             \
	} while (0)

static int compare_msrs(const struct kq_state_record *x, const struct kq_state_record *y, char *out,
			size_t len, const char *label)
{
	int ndiff = 0;
	size_t used = strlen(out);
	for (uint32_t k = 0; k < x->len / KQ_STATE_MSR_ENTRY; k++) {
		uint32_t ia, ib;
		uint64_t va, vb;
		memcpy(&ia, x->data + k * KQ_STATE_MSR_ENTRY, 4);
		memcpy(&va, x->data + k * KQ_STATE_MSR_ENTRY + 4, 8);
		memcpy(&ib, y->data + k * KQ_STATE_MSR_ENTRY, 4);
		memcpy(&vb, y->data + k * KQ_STATE_MSR_ENTRY + 4, 8);
		if (ia != ib)
			DIFF("%s MSR list differs at entry %u (0x%x, 0x%x); ", who(x->vcpu), k, ia,
			     ib);
		else if (va != vb && moving_msr(ia))
			printf("# %s: %s %s moved by %lld (moving field)\n", label, who(x->vcpu),
			       moving_msr(ia), (long long)(vb - va));
		else if (va != vb)
			DIFF("%s MSR 0x%x: 0x%llx -> 0x%llx; ", who(x->vcpu), ia,
			     (unsigned long long)va, (unsigned long long)vb);
	}
	return ndiff;
}

/* Differences between two saves of the same guest state. The fields that
 * move between saves (docs/state.md) are not compared; their movement is
 * printed, and the TSC offset may move by no more than the time between the
 * restore and the save-again (window_ms) plus 1 ms, in TSC cycles. */
static int compare_states(const struct kq_state *a, const struct kq_state *b, char *out, size_t len,
			  const char *label, double window_ms)
{
	int ndiff = 0;
	size_t used = 0;
	out[0] = 0;
	for (uint32_t i = 0; i < a->nrecords; i++) {
		const struct kq_state_record *x = &a->records[i];
		const struct kq_state_record *y = kq_state_find(b, x->type, x->vcpu);
		const char *name = kq_state_type_name(x->type);
		if (!y) {
			DIFF("%s %s missing after restore; ", name, who(x->vcpu));
			continue;
		}
		if (x->len != y->len) {
			DIFF("%s %s: %u bytes, then %u; ", name, who(x->vcpu), x->len, y->len);
			continue;
		}
		if (x->type == KQ_REC_CLOCK) {
			struct kvm_clock_data ca, cb;
			memcpy(&ca, x->data, sizeof(ca));
			memcpy(&cb, y->data, sizeof(cb));
			printf("# %s: kvmclock moved by %.1f us (moving field; flags 0x%x, then "
			       "0x%x)\n",
			       label, ((double)cb.clock - (double)ca.clock) / 1e3, ca.flags,
			       cb.flags);
			continue;
		}
		if (x->type == KQ_REC_TSC_OFFSET) {
			int64_t oa, ob;
			uint64_t khz;
			memcpy(&oa, x->data, 8);
			memcpy(&ob, y->data, 8);
			memcpy(&khz, kq_state_find(a, KQ_REC_TSC_KHZ, x->vcpu)->data, 8);
			printf("# %s: %s TSC offset moved by %lld cycles, %.3f ms at %llu kHz "
			       "(moving field)\n",
			       label, who(x->vcpu), (long long)(ob - oa), (double)(ob - oa) / khz,
			       (unsigned long long)khz);
			if ((double)llabs(ob - oa) > (window_ms + 1) * (double)khz)
				DIFF("%s TSC offset moved by %lld cycles, more than the %.1f ms "
				     "between restore and save-again; ",
				     who(x->vcpu), (long long)(ob - oa), window_ms + 1);
			continue;
		}
		if (x->type == KQ_REC_MSRS) {
			ndiff += compare_msrs(x, y, out, len, label);
			used = strlen(out);
			continue;
		}
		uint8_t *xa = malloc(x->len), *yb = malloc(y->len);
		memcpy(xa, x->data, x->len);
		memcpy(yb, y->data, y->len);
		if (x->type == KQ_REC_PIT2) {
			struct kvm_pit_state2 *pa = (void *)xa, *pb = (void *)yb;
			for (int c = 0; c < 3; c++)
				pa->channels[c].count_load_time = pb->channels[c].count_load_time =
				    0;
		}
		for (uint32_t k = 0; k < x->len; k++)
			if (xa[k] != yb[k]) {
				DIFF("%s %s: byte %u: 0x%02x -> 0x%02x; ", name, who(x->vcpu), k,
				     xa[k], yb[k]);
				break;
			}
		free(xa);
		free(yb);
	}
	for (uint32_t i = 0; i < b->nrecords; i++)
		if (!kq_state_find(a, b->records[i].type, b->records[i].vcpu))
			DIFF("%s %s appeared after restore; ",
			     kq_state_type_name(b->records[i].type), who(b->records[i].vcpu));
	return ndiff;
}

static void print_dropped(const struct kq_state *s, const char *label)
{
	const struct kq_state_record *r = kq_state_find(s, KQ_REC_MSRS, 0);
	const struct kq_state_record *d = kq_state_find(s, KQ_REC_MSRS_DROPPED, 0);
	printf("# %s: vcpu0: %u MSRs saved, %u listed but unreadable (dropped):", label,
	       r ? r->len / KQ_STATE_MSR_ENTRY : 0, d ? d->len / 4 : 0);
	for (uint32_t k = 0; d && k < d->len / 4; k++) {
		uint32_t idx;
		memcpy(&idx, d->data + 4 * k, 4);
		printf(" 0x%x", idx);
	}
	printf("\n");
}

/* A state goes only into a VM of the same configuration. */
static void mismatched_targets(const struct kq_state *s)
{
	struct drv c;
	if (drv_create(&c, 2, KQ_IRQCHIP_NONE) == 0) {
		ok(kq_state_restore(c.vm, s) < 0, "a 1-vCPU state is refused by a 2-vCPU VM");
		has_substr(kq_err(), "the state has 1 vCPUs, the VM 2", "saying why");
	}
	drv_destroy(&c);
	if (drv_create(&c, 1, KQ_IRQCHIP_KERNEL) == 0) {
		ok(kq_state_restore(c.vm, s) < 0,
		   "a state without irqchip is refused by a VM with one");
		has_substr(kq_err(), "irqchip mode is 0, the VM's 1", "saying why");
	}
	drv_destroy(&c);
}

static void one_config(int n, enum kq_irqchip chip, const char *label, bool print)
{
	struct drv a, b;
	int r = drv_create(&a, n, chip);
	if (r == -2) {
		printf("ok %d - # SKIP %s: %s\n", ++tap_n, label, kq_err());
		return;
	}
	if (!ok(r == 0, "%s: VM created (%s)", label, r ? kq_err() : "ok"))
		return;
	r = advance(&a, 1, SAVE_AT);
	ok(r == 0, "%s: guest ran to stage %d of %d (%s)", label, SAVE_AT, STAGES,
	   r ? a.err : "ok");
	struct kq_state *sa = NULL, *sd = NULL, *sb = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = kq_state_save(a.vm, &sa);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ok(r == 0, "%s: saved (%s)", label, r ? kq_err() : "ok"))
		goto out;
	uint8_t *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;
	r = kq_state_encode(sa, &buf, &len);
	ok(r == 0, "%s: encoded: %u records, %zu bytes, save took %.0f us", label, sa->nrecords,
	   len, (t1.tv_sec - t0.tv_sec) * 1e6 + (t1.tv_nsec - t0.tv_nsec) / 1e3);
	if (print) {
		printf("# records saved (%s):\n", label);
		kq_state_describe(sa, stdout, "# record ");
	}
	print_dropped(sa, label);
	r = r ? r : kq_state_decode(buf, len, &sd);
	ok(r == 0 && kq_state_encode(sd, &buf2, &len2) == 0 && len2 == len &&
	       memcmp(buf, buf2, len) == 0,
	   "%s: decoded, and re-encodes to the same %zu bytes (%s)", label, len,
	   r ? kq_err() : "ok");
	free(buf);
	free(buf2);
	if (!sd)
		goto out;

	r = drv_create(&b, n, chip);
	if (!ok(r == 0, "%s: second VM created (%s)", label, r ? kq_err() : "ok"))
		goto out;
	ok(copy_memory(a.vm, b.vm) == 0, "%s: guest memory copied across", label);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = kq_state_restore(b.vm, sd);
	ok(r == 0, "%s: restored into the second VM (%s)", label, r ? kq_err() : "ok");
	r = r ? r : kq_state_save(b.vm, &sb);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (ok(r == 0, "%s: saved again from the second VM (%s)", label, r ? kq_err() : "ok")) {
		char diff[2048];
		double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		int ndiff = compare_states(sa, sb, diff, sizeof(diff), label, ms);
		ok(ndiff == 0, "%s: second save equals the first but for moving fields%s%s", label,
		   ndiff ? ": " : "", ndiff ? diff : "");
	}
	r = advance(&a, SAVE_AT + 1, 0);
	ok(r == 0, "%s: the original guest finishes (%s)", label, r ? a.err : "ok");
	r = advance(&b, SAVE_AT + 1, 0);
	ok(r == 0, "%s: the restored guest finishes (%s)", label, r ? b.err : "ok");
	for (int i = 0; i < n; i++) {
		uint64_t want = expected((uint32_t)i);
		ok(a.result[i] == want && b.result[i] == want,
		   "%s: vCPU %d: original 0x%016llx, restored 0x%016llx, host 0x%016llx", label, i,
		   (unsigned long long)a.result[i], (unsigned long long)b.result[i],
		   (unsigned long long)want);
	}
	if (n == 1 && chip == KQ_IRQCHIP_NONE)
		mismatched_targets(sd);
	drv_destroy(&b);
out:
	kq_state_free(sa);
	kq_state_free(sd);
	kq_state_free(sb);
	drv_destroy(&a);
}

int main(void)
{
	if (kq_kvm_open(&kvm, NULL) < 0) {
		char why[1200];
		snprintf(why, sizeof(why), "no KVM here (%s)", kq_err());
		tap_skip_all(why);
		return 0;
	}
	one_config(1, KQ_IRQCHIP_NONE, "1 vCPU, no irqchip", true);
	one_config(2, KQ_IRQCHIP_NONE, "2 vCPUs, no irqchip", false);
	one_config(1, KQ_IRQCHIP_KERNEL, "1 vCPU, in-kernel irqchip", false);
	one_config(2, KQ_IRQCHIP_KERNEL, "2 vCPUs, in-kernel irqchip", true);
	one_config(2, KQ_IRQCHIP_SPLIT, "2 vCPUs, split irqchip", false);
	kq_kvm_close(&kvm);
	return done_testing();
}
