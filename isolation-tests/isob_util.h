/* Host side shared by the isolation measurements (tests 5-8): tenants in
 * their own processes (vmm/child.c) run at once from threads, a shared page
 * between them and the driver, the guest TSC offset as the guest sees it,
 * and the low-confidence note of emulated hosts. */
#ifndef KQ_ISOLATION_ISOB_UTIL_H
#define KQ_ISOLATION_ISOB_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/test.h"
#include "vmm/vm.h"

/* A tenant process: fn(kvm, ctx) in a forked child (kq_run_in_child) run
 * from a thread of the driver, so several tenants run at once. */
struct isob_child {
	struct kq_kvm *kvm;
	int (*fn)(struct kq_kvm *kvm, void *ctx);
	void *ctx;
	double limit_s;
	/* filled in */
	pthread_t thread;
	bool started;
	int rc, status;
	char err[256];
};
int isob_child_start(struct isob_child *c);
/* 0 when the child exited 0; else -1 with c->err saying how it ended. */
int isob_child_join(struct isob_child *c);

/* Polls *flag (written by another process) every millisecond until it is at
 * least want, *abort is non-zero, or timeout_s passes. True when reached. */
bool isob_wait_flag(volatile int *flag, int want, volatile int *abort, double timeout_s);

uint64_t isob_host_tsc(void);
double isob_now_s(void); /* CLOCK_MONOTONIC */

/* A one-vCPU VM for a tenant, the calling process pinned to host CPU cpu
 * (-1: not pinned). Returns NULL with err. */
struct kq_vm *isob_vm_create(struct kq_kvm *kvm, const char *workload, const uint64_t *args,
			     uint64_t test_mem, int cpu, double limit_s, char *err, size_t len);

/* Runs v (on the caller's thread) to its next SYNC or DONE ucall, skipping
 * PRINTs; *host_tsc is the host TSC read right after the exit. NULL with err
 * when the guest failed (assert, exception, unexpected exit, watchdog). */
const struct kq_ucall *isob_next_ucall(struct kq_vcpu *v, uint64_t *host_tsc, char *err,
				       size_t len);

/* n SYNCs (the guest in isob_wait_cmd): the guest TSC minus the host TSC
 * read after each exit; the largest is the best estimate (every sample
 * trails the guest's read by one exit). The guest is left waiting in its last
 * SYNC for the caller's answer. -1 with err. */
int isob_guest_tsc_offset(struct kq_vcpu *v, int n, int64_t *offset, char *err, size_t len);

/* Runs v until DONE after answering its pending SYNC with ISOB_CMD_DONE. */
int isob_finish(struct kq_vcpu *v, char *err, size_t len);

/* " (emulated host: timings are functional checks, low confidence)" when the
 * run is in the emulated host, "" otherwise. */
const char *isob_confidence_note(const struct kq_run_opts *o);
bool isob_emulated(const struct kq_run_opts *o);

/* Size of the level-`level` cache (2 or 3) over host CPU cpu, from hwloc;
 * def when the topology does not say. */
uint64_t isob_cache_bytes(int cpu, int level, uint64_t def);

#endif
