/* The VM a migration moves, as SETUP describes it, and what this host can
 * offer (supported CPUID, MSR index list). */
#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "vmm/err.h"
#include "vmm/layout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double kq_mig_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

uint64_t kq_mig_realtime_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

void kq_mig_vm_config(const struct kq_mig_workload *w, struct kq_vm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->vcpus = w->vcpus;
	c->test_mem = w->test_mem;
	c->backing = KQ_BACK_ANON;
	c->page_size = KQ_PG_2M;
	c->irqchip = KQ_IRQCHIP_KERNEL;
	c->workload = KQ_MIG_WORKLOAD;
	c->args[KQ_MIG_ARG_MODE] = (uint64_t)w->mode;
	c->args[KQ_MIG_ARG_RATE] = w->rate;
	c->args[KQ_MIG_ARG_PATTERN] = w->pattern;
	c->args[KQ_MIG_ARG_HOT] = w->hot;
}

int kq_mig_describe(struct kq_vm *vm, const struct kq_vm_config *c, struct kq_mig_setup *s)
{
	memset(s, 0, sizeof(*s));
	s->version = KQ_MIG_VERSION;
	s->vcpus = (uint32_t)kq_vm_nvcpus(vm);
	s->irqchip = (uint32_t)kq_vm_irqchip(vm);
	s->page_size = (uint32_t)c->page_size;
	s->tsc_khz = kq_vm_tsc_khz(vm);
	s->test_mem = c->test_mem;
	s->backing = (uint32_t)c->backing;
	snprintf(s->workload, sizeof(s->workload), "%s", c->workload);
	for (int i = 0; i < 16; i++)
		s->args[i] = c->args[i];
	for (int id = kq_vm_slot_next(vm, -1); id >= 0; id = kq_vm_slot_next(vm, id)) {
		struct kq_slot_info si;
		if (kq_vm_slot_info(vm, id, &si) < 0)
			return -1;
		if (s->nslots == KQ_MIG_MAX_SLOTS)
			return kq_err_set("migration: more than %d memory slots", KQ_MIG_MAX_SLOTS);
		struct kq_mig_slot *m = &s->slots[s->nslots++];
		m->gpa = si.gpa;
		m->size = si.size;
		m->backing = (uint32_t)si.backing;
		m->flags = si.flags;
		snprintf(m->name, sizeof(m->name), "%s", si.name);
	}
	/* Slots in guest-physical order, as the stream requires. */
	for (uint32_t i = 1; i < s->nslots; i++)
		for (uint32_t j = i; j > 0 && s->slots[j].gpa < s->slots[j - 1].gpa; j--) {
			struct kq_mig_slot t = s->slots[j];
			s->slots[j] = s->slots[j - 1];
			s->slots[j - 1] = t;
		}
	struct kvm_cpuid2 *cp = kq_vcpu_get_cpuid(kq_vm_vcpu(vm, 0));
	if (!cp)
		return -1;
	for (uint32_t i = 0; i < cp->nent && s->ncpuid < KQ_MIG_MAX_CPUID; i++) {
		struct kvm_cpuid_entry2 *e = &cp->entries[i];
		s->cpuid[s->ncpuid++] = (struct kq_mig_cpuid){
		    e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx};
	}
	free(cp);
	return 0;
}

int kq_mig_host_offer(struct kq_kvm *kvm, struct kq_mig_setup *sup)
{
	memset(sup, 0, sizeof(*sup));
	for (uint32_t i = 0; i < kvm->cpuid->nent && sup->ncpuid < KQ_MIG_MAX_CPUID; i++) {
		struct kvm_cpuid_entry2 *e = &kvm->cpuid->entries[i];
		sup->cpuid[sup->ncpuid++] = (struct kq_mig_cpuid){
		    e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx};
	}
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(kvm->fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return kq_err_errno("KVM_GET_MSR_INDEX_LIST");
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	if (!l)
		return kq_err_set("out of memory");
	l->nmsrs = probe.nmsrs;
	if (KQ_IOCTL(kvm->fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		return -1;
	}
	for (uint32_t i = 0; i < l->nmsrs && sup->nmsrs < KQ_MIG_MAX_MSRS; i++)
		sup->msrs[sup->nmsrs++] = l->indices[i];
	/* Feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST) are not guest state. */
	free(l);
	return 0;
}

uint8_t *kq_mig_slot_host(struct kq_vm *vm, const struct kq_mig_setup *s, int i)
{
	return kq_vm_gpa_to_hva(vm, s->slots[i].gpa, s->slots[i].size);
}
