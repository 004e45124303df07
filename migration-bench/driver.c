/* The suite's migration tests: both ends on this host over loopback. The
 * destination is a forked child listening on a port the parent bound; the
 * source runs here. A fault test passes when the migration failed the way
 * it was made to, the source resumed, the destination discarded the VM with
 * a message, and the verifier found nothing lost. */
#include "core/test.h"
#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "migration-bench/report.h"
#include "migration-bench/transport.h"
#include "vmm/state.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct kq_param_spec params[] = {
    {"guest", KQ_PT_STRING, "idle, dirty or verify (default verify)"},
    {"rate", KQ_PT_U64, "pages the guest writes per second (0: flat out)"},
    {"pattern", KQ_PT_STRING, "seq, random or hot"},
    {"hot", KQ_PT_U64, "hot-set pages"},
    {"dirty", KQ_PT_STRING, "bitmap-manual (default), bitmap or ring"},
    {"downtime_ms", KQ_PT_DOUBLE, "downtime limit (default 300; 2000 in the emulated host)"},
    {"zstd", KQ_PT_BOOL, "compress page runs"},
    {"fault", KQ_PT_STRING,
     "truncate, corrupt-page, corrupt-state, wrong-version, dest-oom, kill-dest, drop-page; "
     "drop-page-unchecked (tests: must FAIL by the verifier)"},
    {NULL, 0, NULL},
};

struct dest_child {
	pid_t pid;
	int err_fd; /* its stderr */
};

static int start_dest(int lfd, uint64_t mem_limit, bool unchecked, struct dest_child *c)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (c->pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		struct kq_mig_listen_opts o = {.listen_fd = lfd,
					       .timeout_s = 30,
					       .run_after_s = 0.2,
					       .mem_limit = mem_limit,
					       .allow_unchecked = unchecked};
		char err[1024];
		if (kq_mig_receive(&o, err, sizeof(err)) < 0) {
			fprintf(stderr, "destination discarded the incoming VM: %s\n", err);
			_exit(1);
		}
		_exit(0);
	}
	close(p[1]);
	c->err_fd = p[0];
	return 0;
}

static int finish_dest(struct dest_child *c, char *msg, size_t n)
{
	int st = 0;
	waitpid(c->pid, &st, 0);
	ssize_t r = read(c->err_fd, msg, n - 1);
	msg[r > 0 ? r : 0] = '\0';
	close(c->err_fd);
	char *nl = strrchr(msg, '\n');
	if (nl && nl[1] == '\0')
		*nl = '\0';
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void run(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *ro,
		struct kq_result *res)
{
	bool emulated = ro->environment && !strcmp(ro->environment, "emulated");
	const char *g = kq_test_param(t, "guest", "verify");
	const char *fault = kq_test_param(t, "fault", "");
	struct kq_mig_send_opts o = {
	    .wl = {.vcpus = 2,
		   .test_mem = t->mem_bytes ? t->mem_bytes : (uint64_t)(emulated ? 8 : 32) << 20,
		   .rate = (uint64_t)kq_test_param_int(t, "rate", 0),
		   .hot = (uint64_t)kq_test_param_int(t, "hot", 0)},
	    /* Emulated: pausing and saving the state alone takes longer than
	     * 300 ms there, so the default limit is 2 s (functional checks only). */
	    .downtime_ms = kq_test_param_double(t, "downtime_ms", emulated ? 2000 : 300),
	    .max_iters = 30,
	    .max_time_s = emulated ? 60 : 20,
	    .warmup_s = 0.1,
	    /* Each pre-copy pass lasts at least 50 ms: the stream carries a test
	     * guest's memory in a few ms, too short for its workload to write
	     * pages there, and the checks on dirty tracking, the verifier and
	     * the faults that change a later pass's pages need those writes. */
	    .min_iter_s = 0.05,
	    .run_after_s = 0.2,
	    .zstd = kq_test_param_bool(t, "zstd", false)};
	o.wl.mode = !strcmp(g, "idle")	  ? KQ_MIG_IDLE
		    : !strcmp(g, "dirty") ? KQ_MIG_DIRTY
					  : KQ_MIG_VERIFY;
	const char *pat = kq_test_param(t, "pattern", "seq");
	o.wl.pattern = !strcmp(pat, "random") ? KQ_MIG_RANDOM
		       : !strcmp(pat, "hot")  ? KQ_MIG_HOTSET
					      : KQ_MIG_SEQ;
	int dm = kq_dirty_mode_parse(kq_test_param(t, "dirty", "bitmap-manual"));
	o.dirty = dm < 0 ? KQ_DIRTY_BITMAP_MANUAL : (enum kq_dirty_mode)dm;
	o.fault = !strcmp(fault, "truncate")		  ? KQ_FAULT_TRUNCATE
		  : !strcmp(fault, "corrupt-page")	  ? KQ_FAULT_CORRUPT_PAGE
		  : !strcmp(fault, "corrupt-state")	  ? KQ_FAULT_CORRUPT_STATE
		  : !strcmp(fault, "wrong-version")	  ? KQ_FAULT_WRONG_VERSION
		  : !strcmp(fault, "drop-page")		  ? KQ_FAULT_DROP_PAGE
		  : !strcmp(fault, "drop-page-unchecked") ? KQ_FAULT_DROP_PAGE_UNCHECKED
							  : KQ_FAULT_NONE;
	if (o.fault == KQ_FAULT_CORRUPT_PAGE || o.fault == KQ_FAULT_DROP_PAGE ||
	    o.fault == KQ_FAULT_DROP_PAGE_UNCHECKED)
		o.wl.rate = o.wl.rate ? o.wl.rate : 2000; /* later passes must carry pages */
	char err[1024], addr[64];
	int port;
	/* The emulated host's init leaves lo down; a host whose lo is down
	 * otherwise and that will not let us raise it fails here, named. */
	if (kq_mig_loopback_up(err, sizeof(err)) < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		return;
	}
	int lfd = kq_mig_listen("127.0.0.1:0", &port, err, sizeof(err));
	if (lfd < 0) {
		kq_result_set_status(res, KQ_FAIL, "%s", err);
		return;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	o.to = addr;
	struct dest_child dc;
	uint64_t limit = !strcmp(fault, "dest-oom") ? 4 << 20 : 0;
	if (start_dest(lfd, limit, o.fault == KQ_FAULT_DROP_PAGE_UNCHECKED, &dc) < 0) {
		kq_result_set_status(res, KQ_FAIL, "fork of the destination failed");
		close(lfd);
		return;
	}
	close(lfd);
	if (!strcmp(fault, "kill-dest")) {
		o.fault = KQ_FAULT_KILL_DEST;
		o.kill_pid = dc.pid;
	}
	struct kq_mig_send_result *r = calloc(1, sizeof(*r));
	kq_mig_send(&o, r);
	char dmsg[2048];
	int dst_rc = finish_dest(&dc, dmsg, sizeof(dmsg));
	kq_mig_add_metrics(res, r);
	uint64_t dirty_seen = 0; /* pages dirty tracking reported after iteration 0 */
	/* Where KVM hides off-CPU time from the guest's TSC, the heartbeat
	 * cannot see all of the downtime: say so instead of failing on it. */
	bool tsc_unstable = kq_host_tsc_unstable();
	if (tsc_unstable) {
		kq_result_diag(res, "this host's kernel marked its TSC unstable (no tsc in "
				    "available_clocksource): KVM stops the guest's TSC while its "
				    "vCPU is off the CPU, so the heartbeat's gap is a lower bound "
				    "and the check that guest time moved on is not made");
		kq_result_set_evidence(res, "guest_downtime_lower_bound", json_true());
	}
	for (int i = 0; i < r->iters; i++)
		dirty_seen += i + 1 < r->iters ? r->it[i].dirty_pages : r->it[i].pages;
	kq_result_diag(res, "source: %s", r->reason[0] ? r->reason : "migrated");
	if (r->dropped_gpa)
		kq_result_diag(res, "planted: page 0x%llx left out of the final pass",
			       (unsigned long long)r->dropped_gpa);
	kq_result_diag(res, "destination (exit %d): %s", dst_rc, dmsg[0] ? dmsg : "-");
	if (r->verifier_ran && r->verifier_errors)
		kq_result_set_status(res, KQ_FAIL,
				     "the verifier found %llu lost or duplicated writes",
				     (unsigned long long)r->verifier_errors);
	else if (o.fault == KQ_FAULT_DROP_PAGE_UNCHECKED)
		kq_result_set_status(res, KQ_FAIL,
				     r->dropped_gpa
					 ? "a page was left out (0x%llx) and the verifier "
					   "found nothing: %s"
					 : "no dirty page to leave out (0x%llx): %s",
				     (unsigned long long)r->dropped_gpa, r->reason);
	else if (!r->guest_ok)
		kq_result_set_status(res, KQ_FAIL, "the guest did not finish: %s", r->reason);
	else if (!fault[0]) {
		if (r->status != 0)
			kq_result_set_status(res, KQ_FAIL, "%s", r->reason);
		else if (dst_rc != 0)
			kq_result_set_status(res, KQ_FAIL, "destination exited %d: %s", dst_rc,
					     dmsg);
		else if (o.wl.mode != KQ_MIG_IDLE && o.wl.rate &&
			 r->writes_at_pause > r->writes_at_track && !dirty_seen)
			kq_result_set_status(
			    res, KQ_FAIL,
			    "the guest wrote %llu pages while tracked (%llu in all "
			    "before the pause), dirty tracking reported none",
			    (unsigned long long)(r->writes_at_pause - r->writes_at_track),
			    (unsigned long long)r->writes_at_pause);
		else if (o.wl.mode == KQ_MIG_VERIFY && r->verifier_writes <= r->writes_at_pause)
			kq_result_set_status(
			    res, KQ_FAIL,
			    "the verifier made no progress on the destination (%llu "
			    "writes in all, %llu at the pause)",
			    (unsigned long long)r->verifier_writes,
			    (unsigned long long)r->writes_at_pause);
		else if (r->guest_gap_ms < 0.5 * (r->final_pass_ms + r->state_save_ms) &&
			 !tsc_unstable)
			kq_result_set_status(res, KQ_FAIL,
					     "guest time did not move on across the switchover: "
					     "heartbeat gap %.3f ms, host-side downtime %.3f ms",
					     r->guest_gap_ms, r->downtime_ms);
		else
			kq_result_set_status(
			    res, KQ_PASS,
			    "migrated in %.3f s, downtime %.2f ms host-side, %.2f ms "
			    "guest-observed%s; memory hash equal; verifier clean",
			    r->total_s, r->downtime_ms, r->guest_gap_ms,
			    tsc_unstable ? " (a lower bound: host TSC unstable)" : "");
	} else {
		if (r->status == 0)
			kq_result_set_status(res, KQ_FAIL, "fault '%s' injected, yet it migrated",
					     fault);
		else if (!r->source_resumed)
			kq_result_set_status(res, KQ_FAIL, "the source did not resume: %s",
					     r->reason);
		else if (!strcmp(fault, "kill-dest") ? dst_rc != 128 + SIGKILL
						     : (dst_rc == 0 || !strstr(dmsg, "discarded")))
			kq_result_set_status(res, KQ_FAIL,
					     "the destination did not discard the VM (exit %d): %s",
					     dst_rc, dmsg);
		else if (!r->verifier_ran)
			kq_result_set_status(res, KQ_FAIL, "the verifier did not report");
		else if (o.fault == KQ_FAULT_DROP_PAGE &&
			 (!r->dropped_gpa || !strstr(dmsg, "mem_hash")))
			kq_result_set_status(
			    res, KQ_FAIL,
			    "a page left out (0x%llx) was not caught by the memory "
			    "hash: %s",
			    (unsigned long long)r->dropped_gpa, dmsg);
		else
			kq_result_set_status(
			    res, KQ_PASS,
			    "fault '%s': source resumed (verifier clean, %llu writes); "
			    "destination: %s",
			    fault, (unsigned long long)r->verifier_writes, dmsg);
	}
	free(r);
}

static const struct kq_driver migration = {
    .name = "migration",
    .summary = "live migration between two processes over loopback, downtime seen by the guest",
    .needs_kvm = true,
    .params = params,
    .run = run,
};
KQ_DRIVER(migration)
