/* Live migration between two kvmqual processes: the source (pre-copy with
 * dirty tracking, switchover by the downtime budget, non-convergence verdict,
 * optional auto-converge) and the destination (builds the VM the SETUP
 * describes, checks what it can offer, loads memory and state, runs). */
#ifndef KQ_MIG_MIG_H
#define KQ_MIG_MIG_H

#include <stdbool.h>
#include <stdint.h>

#include "migration-bench/proto.h"
#include "vmm/vm.h"

#define KQ_MIG_MAX_ITERS 64

/* Faults the source can inject into its own stream (tests). */
enum kq_mig_fault {
	KQ_FAULT_NONE,
	KQ_FAULT_TRUNCATE,	/* close mid-stream, after the first iteration */
	KQ_FAULT_CORRUPT_PAGE,	/* flip a byte inside a PAGES payload after its checksum */
	KQ_FAULT_CORRUPT_STATE, /* flip a byte inside the STATE payload after its checksum */
	KQ_FAULT_WRONG_VERSION, /* SETUP frame header says version 99 */
	KQ_FAULT_KILL_DEST,	/* SIGKILL to kill_pid after the first iteration */
	KQ_FAULT_DROP_PAGE,	/* the final pass leaves out one dirty test page */
	/* Tests only: as DROP_PAGE, and COMPLETE carries no memory hash (0), which
	 * a destination started with allow_unchecked accepts: the guest runs on
	 * with a stale page, and the verifier must find it. */
	KQ_FAULT_DROP_PAGE_UNCHECKED,
};

struct kq_mig_workload {
	int mode; /* enum kq_mig_mode */
	uint64_t rate, pattern, hot;
	uint64_t test_mem;
	int vcpus;
};

struct kq_mig_send_opts {
	const char *to;
	const uint8_t *key; /* NULL: in the clear */
	struct kq_mig_workload wl;
	enum kq_dirty_mode dirty;
	double downtime_ms; /* limit */
	int max_iters;
	double max_time_s;
	double warmup_s;    /* guest runs before the migration starts */
	double run_after_s; /* the destination runs the guest this long */
	bool zstd;
	bool auto_converge;
	enum kq_mig_fault fault;
	int kill_pid;	   /* KQ_FAULT_KILL_DEST: the destination's process */
	double min_iter_s; /* each pre-copy iteration lasts at least this long */
};

struct kq_mig_iter_result {
	uint64_t pages, zero_pages, wire_bytes, dirty_pages;
	double seconds, bandwidth_Bps, dirty_rate_pps;
};

struct kq_mig_send_result {
	int status; /* 0 migrated; -1 failed (source resumed); 1 did not converge */
	char reason[768];
	bool source_resumed;
	double total_s, setup_s, fixed_cost_ms;
	int iters;
	struct kq_mig_iter_result it[KQ_MIG_MAX_ITERS + 1];
	/* host-side downtime: source pause → destination running */
	double downtime_ms, pause_ms, final_pass_ms, state_save_ms, transfer_ms, state_load_ms,
	    resume_ms;
	/* The memory check: hash_ms computing the paused source's hash (in a
	 * thread, beside the final pass and the state); hash_wait_ms the part of
	 * it the destination waited for after loading the state (in the
	 * downtime). */
	double hash_ms, hash_wait_ms;
	double guest_gap_ms;  /* largest heartbeat gap on the destination */
	double source_gap_ms; /* on the source when it resumed after a failure */
	uint64_t pages_sent, zero_pages, pages_resent, wire_bytes, raw_bytes;
	double compression_ratio;
	uint64_t mem_hash;
	uint64_t verifier_errors, verifier_writes;
	uint64_t writes_at_pause; /* the workload's page writes when the source paused */
	uint64_t writes_at_track; /* ... when dirty tracking started over (iteration 0) */
	uint64_t dropped_gpa;	  /* KQ_FAULT_DROP_PAGE*: the page left out, 0 if none */
	bool verifier_ran, guest_ok;
	double throttle; /* auto-converge's last duty cycle, 1 = none */
};

struct kq_mig_listen_opts {
	const char *addr;
	const uint8_t *key;
	double timeout_s;
	uint64_t mem_limit; /* allocation limit in bytes (address space); 0: none */
	double run_after_s;
	int listen_fd;	      /* >= 0: already listening (the driver's forked child) */
	bool allow_unchecked; /* tests only: accept COMPLETE without a memory hash */
};

/* Runs the source: builds and starts its VM, migrates it. */
int kq_mig_send(const struct kq_mig_send_opts *o, struct kq_mig_send_result *r);
/* Runs the destination for one migration; 0 when the guest ran and finished
 * on this side, -1 with err naming what failed (the VM is discarded). */
int kq_mig_receive(const struct kq_mig_listen_opts *o, char *err, size_t n);

/* VM description for SETUP (vmdesc.c). */
void kq_mig_vm_config(const struct kq_mig_workload *w, struct kq_vm_config *c);
int kq_mig_describe(struct kq_vm *vm, const struct kq_vm_config *c, struct kq_mig_setup *s);
int kq_mig_host_offer(struct kq_kvm *kvm, struct kq_mig_setup *sup);
uint8_t *kq_mig_slot_host(struct kq_vm *vm, const struct kq_mig_setup *s, int i);

double kq_mig_now(void); /* CLOCK_MONOTONIC seconds */
uint64_t kq_mig_realtime_ns(void);

#endif
