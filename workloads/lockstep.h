/* vCPUs driven in lock step from the host: each vCPU runs on its own thread
 * (kq_vcpu_run_once) until its next SYNC, where it waits while the host works
 * on the VM (collects dirty pages, changes slots) with no vCPU in KVM_RUN;
 * then all are released at once and the host learns when the last one came
 * back. Used where a measurement needs every vCPU parked between phases. */
#ifndef KQ_WORKLOADS_LOCKSTEP_H
#define KQ_WORKLOADS_LOCKSTEP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/vm.h"

struct kq_lockstep_vcpu {
	struct kq_lockstep *ls;
	struct kq_vcpu *v;
	pthread_t thread;
	bool started;
	bool finished;	     /* reached DONE (or failed) */
	uint64_t arrived_ns; /* when its last run ended */
	uint64_t sync_stage; /* args[0] of its last SYNC */
	char print[128];     /* its last PRINT */
};

struct kq_lockstep {
	struct kq_vm *vm;
	int n;
	struct kq_lockstep_vcpu *cpu;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t gen; /* bumped to release every vCPU */
	int arrived;  /* vCPUs back since the last release */
	char failure[512];
};

/* Starts one thread per vCPU of vm; each runs until its first SYNC.
 * Returns 0, or -1 with kq_err set (threads already started are joined). */
int kq_lockstep_start(struct kq_lockstep *ls, struct kq_vm *vm);
/* Waits until every vCPU is back (at a SYNC, DONE or failed) or timeout_s
 * passes: 0 when all wait at a SYNC, 1 when all reached DONE (their threads
 * ended), -1 with ls->failure otherwise. */
int kq_lockstep_wait(struct kq_lockstep *ls, double timeout_s);
/* Releases every vCPU from its SYNC (answer them first with
 * kq_vcpu_ucall_reply); returns the release time in ns (CLOCK_MONOTONIC). */
uint64_t kq_lockstep_release(struct kq_lockstep *ls);
/* The latest arrival since the last release, in ns. */
uint64_t kq_lockstep_last_arrival(const struct kq_lockstep *ls);
/* Stops the VM if any vCPU still runs, joins the threads, frees. */
void kq_lockstep_end(struct kq_lockstep *ls);
uint64_t kq_lockstep_now_ns(void);

#endif
