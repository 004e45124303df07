/* The destination: reads the stream through the KVM-free reader (recv.c)
 * into a VM it builds from SETUP, after checking the configuration and that
 * this host offers the source guest's CPUID and MSRs; loads the state, runs
 * the guest, acknowledges, and reports what the guest saw. Anything wrong
 * before the guest runs discards the VM. */
#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "migration-bench/pagemap.h"
#include "migration-bench/recv.h"
#include "migration-bench/transport.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

struct dst {
	const struct kq_mig_listen_opts *o;
	struct kq_kvm kvm;
	bool kvm_open;
	struct kq_vm *vm;
	struct kq_vm_config cfg;
	struct kq_mig_setup built;
	struct kq_state *state;
	struct kq_mig_conn conn;
	int pagemap; /* never-populated pages need no clearing */
	double state_load_s, loaded_at;
	uint64_t gap_cycles, ver_errors, ver_writes;
};

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct dst *d = ctx;
	if (uc->kind == KQ_UC_RESULT) {
		if (!strcmp(uc->name, "heartbeat.max_gap"))
			d->gap_cycles = uc->args[0];
		else if (!strcmp(uc->name, "verifier.errors"))
			d->ver_errors = uc->args[0];
		else if (!strcmp(uc->name, "verifier.writes"))
			d->ver_writes = uc->args[0];
	} else if (uc->kind == KQ_UC_PRINT) {
		fprintf(stderr, "guest (destination): %s\n", uc->text);
	}
	return 0;
}

static int send_ack(struct dst *d, const struct kq_mig_ack *a)
{
	struct kq_bytes p = {0};
	char err[512];
	kq_mig_ack_put(&p, a);
	int rc =
	    kq_mig_conn_send_frame(&d->conn, KQ_MF_ACK, p.p, (uint32_t)p.len, err, sizeof(err));
	kq_bytes_free(&p);
	return rc;
}

static int sink_setup(void *ctx, const struct kq_mig_setup *s, char *err, size_t n)
{
	struct dst *d = ctx;
	struct kq_mig_setup sup;
	if (!d->kvm_open) {
		if (kq_kvm_open(&d->kvm, NULL) < 0) {
			snprintf(err, n, "destination: %s", kq_err());
			return -1;
		}
		d->kvm_open = true;
	}
	char why[400];
	if (kq_mig_host_offer(&d->kvm, &sup) < 0) {
		snprintf(err, n, "destination: %s", kq_err());
		return -1;
	}
	struct kq_mig_workload w = {.vcpus = (int)s->vcpus, .test_mem = s->test_mem};
	kq_mig_vm_config(&w, &d->cfg);
	d->cfg.irqchip = (enum kq_irqchip)s->irqchip;
	d->cfg.page_size = (enum kq_pagesz)s->page_size;
	d->cfg.backing = (enum kq_backing)s->backing;
	for (int i = 0; i < 16 && i < KQ_MAX_ARGS; i++)
		d->cfg.args[i] = s->args[i];
	if (d->o->mem_limit) {
		/* The allocation limit: address space now plus the limit. */
		struct rlimit rl = {.rlim_cur = d->o->mem_limit, .rlim_max = RLIM_INFINITY};
		FILE *f = fopen("/proc/self/statm", "r");
		unsigned long long vsz = 0;
		if (f && fscanf(f, "%llu", &vsz) == 1)
			rl.rlim_cur += vsz * (unsigned long long)sysconf(_SC_PAGESIZE);
		if (f)
			fclose(f);
		setrlimit(RLIMIT_AS, &rl);
	}
	if (kq_vm_create(&d->vm, &d->kvm, &d->cfg) < 0) {
		snprintf(err, n,
			 "destination could not build the VM (%u vCPUs, %llu bytes of test "
			 "memory): %s",
			 s->vcpus, (unsigned long long)s->test_mem, kq_err());
		return -1;
	}
	kq_vm_set_ucall_handler(d->vm, on_ucall, d);
	if (kq_mig_describe(d->vm, &d->cfg, &d->built) < 0) {
		snprintf(err, n, "destination: %s", kq_err());
		return -1;
	}
	/* What this host offers a guest: the CPUID its vmm gives a vCPU here (on
	 * some nested hosts more than KVM_GET_SUPPORTED_CPUID lists) and the MSRs
	 * its KVM can save and restore. */
	memcpy(d->built.msrs, sup.msrs, sizeof(sup.msrs));
	d->built.nmsrs = sup.nmsrs;
	if (kq_mig_check_offer(s, &d->built, why, sizeof(why)) < 0) {
		snprintf(err, n, "this host cannot offer what the source guest was given: %s", why);
		return -1;
	}
	char diff[400];
	if (kq_mig_setup_compare(s, &d->built, diff, sizeof(diff)) < 0) {
		snprintf(err, n, "configuration mismatch: %s", diff);
		return -1;
	}
	return 0;
}

static uint8_t *sink_mem(void *ctx, int slot)
{
	struct dst *d = ctx;
	return d->vm ? kq_mig_slot_host(d->vm, &d->built, slot) : NULL;
}

/* Private anonymous memory: pagemap and mincore tell what was populated. */
static bool anon(const struct dst *d, int slot)
{
	uint32_t b = d->built.slots[slot].backing;
	return b == KQ_BACK_ANON || b == KQ_BACK_THP;
}

static int sink_absent(void *ctx, int slot, const uint8_t *mem, uint32_t n, uint8_t *bits)
{
	struct dst *d = ctx;
	return anon(d, slot) ? kq_mig_absent(d->pagemap, mem, n, bits) : -1;
}

static void sink_populate(void *ctx, int slot, uint8_t *mem, uint32_t n)
{
	if (anon(ctx, slot))
		kq_mig_populate(mem, n);
}

/* The state is loaded as soon as it arrives (all memory is here by then),
 * while the source may still be hashing its memory: nothing runs before
 * COMPLETE's hash matched. */
static int sink_state(void *ctx, const struct kq_mig_state *st, char *err, size_t n)
{
	struct dst *d = ctx;
	if (d->state) {
		snprintf(err, n, "a second VM state record");
		return -1;
	}
	double t0 = kq_mig_now();
	if (kq_state_decode(st->data, st->len, &d->state) < 0) {
		snprintf(err, n, "the state record does not decode: %s", kq_err());
		return -1;
	}
	if (kq_state_restore(d->vm, d->state) < 0) {
		snprintf(err, n, "the state does not load here: %s", kq_err());
		return -1;
	}
	d->loaded_at = kq_mig_now();
	d->state_load_s = d->loaded_at - t0;
	return 0;
}

static void fail_ack(struct dst *d, uint32_t phase, const char *msg)
{
	struct kq_mig_ack a = {.phase = phase, .status = -1};
	snprintf(a.msg, sizeof(a.msg), "%s", msg);
	send_ack(d, &a);
}

static int run_guest(struct dst *d, struct kq_mig_recv *rx, double hash_wait_s, char *err, size_t n)
{
	double t1 = kq_mig_now();
	if (kq_vm_start(d->vm) < 0) {
		snprintf(err, n, "starting the vCPUs: %s", kq_err());
		return -1;
	}
	uint64_t running = kq_mig_realtime_ns();
	struct kq_mig_ack a = {.phase = KQ_MIG_ACK_RUNNING, .value = rx->mem_hash};
	a.v[KQ_ACKV_RUNNING_REALTIME_NS] = running;
	a.v[KQ_ACKV_STATE_LOAD_NS] = (uint64_t)(d->state_load_s * 1e9);
	a.v[KQ_ACKV_RESUME_NS] = (uint64_t)((kq_mig_now() - t1) * 1e9);
	a.v[KQ_ACKV_HASH_WAIT_NS] = (uint64_t)(hash_wait_s * 1e9);
	send_ack(d, &a); /* the guest runs here now, whether the source hears it or not */
	usleep((useconds_t)(d->o->run_after_s * 1e6));
	uint64_t one = 1;
	int rc = kq_vm_write(d->vm, KQ_TEST_GPA, &one, sizeof(one));
	int w = rc < 0 ? -1 : kq_vm_wait(d->vm, 20);
	struct kq_mig_ack f = {.phase = KQ_MIG_ACK_FINISHED, .status = w == 0 ? 0 : -1};
	f.v[KQ_ACKV_HEARTBEAT_GAP_NS] = d->gap_cycles * 1000000ULL / kq_vm_tsc_khz(d->vm);
	f.v[KQ_ACKV_VERIFIER_ERRORS] = d->ver_errors;
	f.v[KQ_ACKV_VERIFIER_WRITES] = d->ver_writes;
	f.v[KQ_ACKV_WORKLOAD_OK] = w == 0;
	if (w != 0)
		snprintf(f.msg, sizeof(f.msg), "guest on the destination: %s",
			 kq_vm_failure(d->vm));
	send_ack(d, &f);
	if (w != 0) {
		snprintf(err, n, "the migrated guest failed on the destination: %s",
			 kq_vm_failure(d->vm));
		return -1;
	}
	return 0;
}

int kq_mig_receive(const struct kq_mig_listen_opts *o, char *err, size_t n)
{
	struct dst d = {.o = o, .pagemap = kq_mig_pagemap_open()};
	int lfd = o->listen_fd, port, rc = -1;
	d.conn.fd = -1;
	if (lfd < 0 && (lfd = kq_mig_listen(o->addr, &port, err, n)) < 0)
		return -1;
	if (kq_mig_accept(lfd, o->key, o->timeout_s, &d.conn, err, n) < 0)
		goto out;
	struct kq_mig_sink sink = {sink_setup, sink_mem,    sink_state,
				   &d,	       sink_absent, sink_populate};
	struct kq_mig_recv rx;
	if (kq_mig_recv_init(&rx, &sink) < 0) {
		snprintf(err, n, "out of memory");
		goto out;
	}
	rx.allow_unchecked = o->allow_unchecked;
	struct kq_bytes p = {0};
	int r = 0;
	double hash_wait_s = 0;
	while (r == 0) {
		enum kq_mig_phase before = rx.phase;
		r = kq_mig_conn_recv(&d.conn, &rx, &p, err, n);
		if (r == 1 && d.loaded_at > 0)
			hash_wait_s = kq_mig_now() - d.loaded_at;
		if (before == KQ_MIG_PH_SETUP) {
			if (r < 0)
				fail_ack(&d, KQ_MIG_ACK_SETUP, err);
			else {
				struct kq_mig_ack a = {.phase = KQ_MIG_ACK_SETUP};
				send_ack(&d, &a);
			}
		}
	}
	kq_bytes_free(&p);
	if (r == 1)
		rc = run_guest(&d, &rx, hash_wait_s, err, n);
	else if (rx.phase != KQ_MIG_PH_SETUP)
		fail_ack(&d, KQ_MIG_ACK_RUNNING, err);
	kq_mig_recv_free(&rx);
out:
	if (d.conn.fd >= 0)
		kq_mig_conn_close(&d.conn);
	if (o->listen_fd < 0)
		close(lfd);
	kq_state_free(d.state);
	kq_vm_destroy(d.vm);
	if (d.kvm_open)
		kq_kvm_close(&d.kvm);
	if (d.pagemap >= 0)
		close(d.pagemap);
	return rc;
}
