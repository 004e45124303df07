/* The source: pre-copy with dirty tracking, switchover when the remaining
 * dirty bytes fit the downtime budget at the measured bandwidth, a
 * non-convergence verdict otherwise; the VM stays intact until the
 * destination says it runs, and resumes on any failure before that. */
#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "migration-bench/pagemap.h"
#include "migration-bench/recv.h"
#include "migration-bench/transport.h"
#include "migration-bench/tx.h"
#include "vmm/err.h"
#include "vmm/layout.h"
#include "vmm/state.h"

#include <linux/sockios.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Bytes of frames per send: one full run's frame, so the buffer stays in
 * cache between the copy out of guest memory and the kernel's copy. */
#define BATCH (1u << 20)

struct src {
	const struct kq_mig_send_opts *o;
	struct kq_mig_send_result *r;
	struct kq_kvm kvm;
	struct kq_vm *vm;
	struct kq_vm_config cfg;
	struct kq_mig_setup setup;
	int slot_id[KQ_MIG_MAX_SLOTS];
	uint64_t *pending[KQ_MIG_MAX_SLOTS], *sent[KQ_MIG_MAX_SLOTS];
	struct kq_mig_conn conn;
	bool connected, paused;
	struct kq_bytes out, payload;
	struct kq_mig_zstd *z;
	struct kq_mig_run_stats st;
	int pagemap; /* /proc/self/pagemap: never-populated pages are not read */
	double throttle_ms;
	uint64_t writes_at_collect; /* the workload's writes after the last collection */
	char err[512];
	/* guest reports (ucall handler, vCPU threads) */
	uint64_t gap_cycles, ver_errors, ver_writes;
	bool ver_ran;
};

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct src *s = ctx;
	if (uc->kind == KQ_UC_RESULT) {
		if (!strcmp(uc->name, "heartbeat.max_gap"))
			s->gap_cycles = uc->args[0];
		else if (!strcmp(uc->name, "verifier.errors")) {
			s->ver_errors = uc->args[0];
			s->ver_ran = true;
		} else if (!strcmp(uc->name, "verifier.writes"))
			s->ver_writes = uc->args[0];
	} else if (uc->kind == KQ_UC_PRINT) {
		fprintf(stderr, "guest: %s\n", uc->text);
	}
	return 0;
}

static struct kq_mig_ctl *ctl(struct kq_vm *vm)
{
	return kq_vm_gpa_to_hva(vm, KQ_TEST_GPA, sizeof(struct kq_mig_ctl));
}

/* A writing workload makes at least one write since the last collection
 * (waiting at most 1 s) before iteration 0's dirty pages are collected, and
 * before each collection when a planted fault needs pages in a later pass:
 * on a busy host its vCPU may not run at all during a short pass, and a
 * migration with no write while tracked would prove nothing of dirty
 * tracking or of the fault. */
static bool fault_needs_pages(const struct kq_mig_send_opts *o)
{
	return o->fault == KQ_FAULT_CORRUPT_PAGE || o->fault == KQ_FAULT_DROP_PAGE ||
	       o->fault == KQ_FAULT_DROP_PAGE_UNCHECKED;
}

static void await_write(struct src *s)
{
	const struct kq_mig_workload *wl = &s->o->wl;
	if (wl->mode == KQ_MIG_IDLE || !wl->rate)
		return;
	double t0 = kq_mig_now();
	while (ctl(s->vm)->writes == s->writes_at_collect && kq_mig_now() - t0 < 1.0)
		usleep(1000);
}

static uint64_t slot_pages(const struct src *s, int i)
{
	return s->setup.slots[i].size / KQ_MIG_PAGE;
}

/* Collects every slot's dirty pages into the pending bitmaps. */
static int collect(struct src *s, uint64_t *count)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < s->setup.nslots; i++) {
		struct kq_dirty_iter it;
		uint64_t gpa;
		if (kq_dirty_begin(s->vm, s->slot_id[i], &it) < 0)
			return -1;
		while (kq_dirty_next(&it, &gpa)) {
			uint64_t pg = (gpa - s->setup.slots[i].gpa) / KQ_MIG_PAGE;
			if (pg < slot_pages(s, (int)i))
				s->pending[i][pg / 64] |= 1ULL << (pg % 64);
		}
		kq_dirty_end(&it);
	}
	for (uint32_t i = 0; i < s->setup.nslots; i++)
		for (uint64_t w = 0; w < (slot_pages(s, (int)i) + 63) / 64; w++)
			n += (uint64_t)__builtin_popcountll(s->pending[i][w]);
	*count = n;
	return 0;
}

static int flush(struct src *s)
{
	if (!s->out.len)
		return 0;
	if (s->out.failed)
		return kq_err_set("out of memory building frames");
	int rc = kq_mig_conn_send(&s->conn, s->out.p, s->out.len, s->err, sizeof(s->err));
	kq_bytes_reset(&s->out);
	if (rc < 0)
		return kq_err_set("%s", s->err);
	if (s->throttle_ms > 0 && !s->paused) { /* auto-converge: take CPU time from the guest */
		kq_vm_pause(s->vm);
		usleep((useconds_t)(s->throttle_ms * 1000));
		kq_vm_resume(s->vm);
	}
	return 0;
}

static void frame(struct src *s, uint16_t type, const void *p, size_t len)
{
	kq_mig_frame_put(&s->out, type, s->conn.tx_seq++, p, (uint32_t)len);
}

static bool anon_slot(const struct src *s, uint32_t i)
{
	return s->setup.slots[i].backing == KQ_BACK_ANON ||
	       s->setup.slots[i].backing == KQ_BACK_THP;
}

/* Sends and clears every pending page, in runs of consecutive pages, each
 * run encoded straight into the frame buffer (one copy out of guest memory). */
static int send_pending(struct src *s, uint32_t iter, bool final)
{
	struct kq_mig_run_stats before = s->st;
	for (uint32_t i = 0; i < s->setup.nslots; i++) {
		uint64_t np = slot_pages(s, (int)i);
		uint8_t *mem = kq_mig_slot_host(s->vm, &s->setup, (int)i);
		for (uint64_t pg = 0; pg < np;) {
			if (!(s->pending[i][pg / 64] & (1ULL << (pg % 64)))) {
				pg++;
				continue;
			}
			if (final && !s->r->dropped_gpa && s->setup.slots[i].gpa == KQ_TEST_GPA &&
			    pg > 0 &&
			    (s->o->fault == KQ_FAULT_DROP_PAGE ||
			     s->o->fault == KQ_FAULT_DROP_PAGE_UNCHECKED)) {
				/* planted: this dirty page never travels */
				s->pending[i][pg / 64] &= ~(1ULL << (pg % 64));
				s->r->dropped_gpa = s->setup.slots[i].gpa + pg * KQ_MIG_PAGE;
				pg++;
				continue;
			}
			uint32_t run = 0;
			while (pg + run < np && run < KQ_MIG_MAX_RUN &&
			       (s->pending[i][(pg + run) / 64] & (1ULL << ((pg + run) % 64)))) {
				uint64_t b = pg + run;
				s->pending[i][b / 64] &= ~(1ULL << (b % 64));
				if (s->sent[i][b / 64] & (1ULL << (b % 64)))
					s->r->pages_resent++;
				s->sent[i][b / 64] |= 1ULL << (b % 64);
				run++;
			}
			uint64_t gpa = s->setup.slots[i].gpa + pg * KQ_MIG_PAGE;
			if (kq_mig_pages_frame(&s->out, s->conn.tx_seq++, gpa,
					       mem + pg * KQ_MIG_PAGE, run, s->z,
					       anon_slot(s, i) ? s->pagemap : -1, &s->st) < 0)
				return kq_err_set("encoding pages at 0x%llx failed",
						  (unsigned long long)gpa);
			if (s->o->fault == KQ_FAULT_CORRUPT_PAGE && iter == 1 && !final)
				s->out.p[s->out.len - 1] ^= 0x5a;
			pg += run;
			if (s->out.len >= BATCH && flush(s) < 0)
				return -1;
		}
	}
	struct kq_mig_iter it = {.iter = iter,
				 .final = final,
				 .pages = s->st.pages - before.pages,
				 .zero_pages = s->st.zero_pages - before.zero_pages,
				 .wire_bytes = s->st.wire_bytes - before.wire_bytes};
	kq_bytes_reset(&s->payload);
	kq_mig_iter_put(&s->payload, &it);
	frame(s, KQ_MF_ITER, s->payload.p, s->payload.len);
	return flush(s);
}

/* Waits (at most limit_s) until the link has taken every byte written:
 * the socket's send queue is empty. Without it a pass that fits in the
 * socket buffers reads as written at memory speed (a 100 Mbit/s link
 * measured 225 MB/s) and the switchover, trusting that, overran its
 * downtime limit. */
static int drain(struct src *s, double limit_s)
{
	double t0 = kq_mig_now();
	for (;;) {
		int queued = 0;
		if (ioctl(s->conn.fd, SIOCOUTQ, &queued) < 0)
			return kq_err_errno("ioctl SIOCOUTQ (migration socket)");
		if (queued == 0 || kq_mig_now() - t0 > limit_s)
			return 0;
		usleep(200);
	}
}

/* Pause, state save and encode, resume: what the switchover costs besides
 * memory, measured on this VM (twice: the destination loads as much). */
static int measure_fixed_cost(struct src *s)
{
	double t0 = kq_mig_now();
	struct kq_state *st = NULL;
	uint8_t *buf = NULL;
	size_t len;
	if (kq_vm_pause(s->vm) < 0)
		return -1;
	int rc = kq_state_save(s->vm, &st);
	if (rc == 0)
		rc = kq_state_encode(st, &buf, &len);
	if (kq_vm_resume(s->vm) < 0)
		rc = -1;
	s->r->fixed_cost_ms = 2 * (kq_mig_now() - t0) * 1e3;
	/* The MSRs this guest's state carries: the destination must offer them. */
	const struct kq_state_record *m = st ? kq_state_find(st, KQ_REC_MSRS, 0) : NULL;
	for (uint32_t i = 0; m && i < m->len / KQ_STATE_MSR_ENTRY && i < KQ_MIG_MAX_MSRS; i++)
		memcpy(&s->setup.msrs[s->setup.nmsrs++], m->data + i * KQ_STATE_MSR_ENTRY, 4);
	free(buf);
	kq_state_free(st);
	return rc;
}

static int wait_ack(struct src *s, uint32_t phase, struct kq_mig_ack *a)
{
	if (kq_mig_conn_read_ack(&s->conn, a, s->err, sizeof(s->err)) < 0)
		return kq_err_set("%s", s->err);
	if (a->phase != phase)
		return kq_err_set("the destination acknowledged phase %u, expected %u", a->phase,
				  phase);
	if (a->status != 0)
		return kq_err_set("the destination refused: %s", a->msg);
	return 0;
}

static void abort_stream(struct src *s, const char *why)
{
	if (!s->connected)
		return;
	kq_bytes_reset(&s->payload);
	kq_mig_abort_put(&s->payload, why);
	kq_bytes_reset(&s->out);
	frame(s, KQ_MF_ABORT, s->payload.p, s->payload.len);
	kq_mig_conn_send(&s->conn, s->out.p, s->out.len, s->err, sizeof(s->err));
	kq_bytes_reset(&s->out);
}

/* Stops the guest where it runs and collects its reports. */
static int finish_guest(struct src *s, double run_s)
{
	usleep((useconds_t)(run_s * 1e6));
	uint64_t one = 1;
	if (kq_vm_write(s->vm, KQ_TEST_GPA, &one, sizeof(one)) < 0)
		return -1;
	return kq_vm_wait(s->vm, 20);
}

/* The check that pre-copy lost nothing: the paused source's memory hash,
 * computed in a thread from the pause on, while the final pass, the state
 * save and the state's transfer and load go on; the destination kept its
 * pages' hashes as they arrived, so it only waits for this value. */
struct hasher {
	pthread_t thread;
	struct src *s;
	uint64_t hash;
	double ms;
};

static uint8_t *hash_slot(void *c, int i)
{
	struct src *s = c;
	return kq_mig_slot_host(s->vm, &s->setup, i);
}

static int hash_absent(void *c, int i, const uint8_t *mem, uint32_t n, uint8_t *bits)
{
	struct src *s = c;
	return anon_slot(s, (uint32_t)i) ? kq_mig_absent(s->pagemap, mem, n, bits) : -1;
}

static void *hash_thread(void *arg)
{
	struct hasher *h = arg;
	double t0 = kq_mig_now();
	struct kq_mig_sink view = {.slot_mem = hash_slot, .absent = hash_absent, .ctx = h->s};
	h->hash = kq_mig_mem_hash(&h->s->setup, &view);
	h->ms = (kq_mig_now() - t0) * 1e3;
	return NULL;
}

static int switchover(struct src *s, uint32_t iter)
{
	struct kq_mig_send_result *r = s->r;
	if (fault_needs_pages(s->o))
		await_write(s);
	uint64_t pause_rt = kq_mig_realtime_ns();
	double tp = kq_mig_now();
	if (kq_vm_pause(s->vm) < 0)
		return -1;
	s->paused = true;
	/* Until every vCPU is out of KVM_RUN the guest still runs: apart from
	 * the final pass, so that the heartbeat check compares like with like. */
	double t0 = kq_mig_now();
	r->pause_ms = (t0 - tp) * 1e3;
	r->writes_at_pause = ctl(s->vm)->writes;
	struct hasher h = {.s = s};
	int e = pthread_create(&h.thread, NULL, hash_thread, &h);
	if (e)
		return kq_err_set("pthread_create (memory hash): %s", strerror(e));
	uint64_t n, wire0 = s->st.wire_bytes;
	int rc = collect(s, &n);
	if (rc == 0)
		rc = send_pending(s, iter, true);
	struct kq_mig_iter_result *ir = &r->it[r->iters++];
	ir->pages = n;
	ir->seconds = kq_mig_now() - t0;
	ir->wire_bytes = s->st.wire_bytes - wire0;
	ir->bandwidth_Bps = ir->seconds > 0 ? (double)ir->wire_bytes / ir->seconds : 0;
	double t1 = kq_mig_now();
	r->final_pass_ms = (t1 - t0) * 1e3;
	struct kq_state *st = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (rc == 0)
		rc = kq_state_save(s->vm, &st);
	if (rc == 0)
		rc = kq_state_encode(st, &buf, &len);
	kq_state_free(st);
	r->state_save_ms = (kq_mig_now() - t1) * 1e3;
	if (rc == 0) {
		kq_bytes_reset(&s->payload);
		kq_mig_state_put(&s->payload, KQ_MIG_STATE_VM, 0, buf, (uint32_t)len);
		size_t at = s->out.len;
		frame(s, KQ_MF_STATE, s->payload.p, s->payload.len);
		if (s->o->fault == KQ_FAULT_CORRUPT_STATE)
			s->out.p[at + KQ_MIG_HDR_SIZE + 100] ^= 0x5a;
		rc = flush(s); /* the destination loads it while the hash is computed */
	}
	free(buf);
	pthread_join(h.thread, NULL);
	if (rc < 0)
		return -1;
	r->mem_hash = h.hash;
	r->hash_ms = h.ms;
	bool unchecked = s->o->fault == KQ_FAULT_DROP_PAGE_UNCHECKED;
	struct kq_mig_complete c = {.mem_hash = unchecked ? 0 : r->mem_hash,
				    .pause_realtime_ns = pause_rt,
				    .state_records = 1,
				    .iterations = iter + 1};
	kq_bytes_reset(&s->payload);
	kq_mig_complete_put(&s->payload, &c);
	frame(s, KQ_MF_COMPLETE, s->payload.p, s->payload.len);
	if (flush(s) < 0)
		return -1;
	struct kq_mig_ack a;
	if (wait_ack(s, KQ_MIG_ACK_RUNNING, &a) < 0)
		return -1;
	if (a.value != r->mem_hash && !unchecked)
		return kq_err_set(
		    "the destination's memory hashes to %016llx, the source's to %016llx",
		    (unsigned long long)a.value, (unsigned long long)r->mem_hash);
	/* The destination runs: this VM may go. */
	r->downtime_ms = (double)(a.v[KQ_ACKV_RUNNING_REALTIME_NS] - pause_rt) / 1e6;
	r->state_load_ms = (double)a.v[KQ_ACKV_STATE_LOAD_NS] / 1e6;
	r->resume_ms = (double)a.v[KQ_ACKV_RESUME_NS] / 1e6;
	r->hash_wait_ms = (double)a.v[KQ_ACKV_HASH_WAIT_NS] / 1e6;
	r->transfer_ms = r->downtime_ms - r->pause_ms - r->final_pass_ms - r->state_save_ms -
			 r->state_load_ms - r->resume_ms - r->hash_wait_ms;
	return 0;
}

static int setup_vm(struct src *s)
{
	const struct kq_mig_send_opts *o = s->o;
	if (kq_kvm_open(&s->kvm, NULL) < 0)
		return -1;
	kq_mig_vm_config(&o->wl, &s->cfg);
	s->cfg.dirty = o->dirty;
	s->cfg.args[KQ_MIG_ARG_PAGES] = o->wl.test_mem / KQ_MIG_PAGE - 1;
	if (kq_vm_create(&s->vm, &s->kvm, &s->cfg) < 0)
		return -1;
	kq_vm_set_ucall_handler(s->vm, on_ucall, s);
	if (kq_mig_describe(s->vm, &s->cfg, &s->setup) < 0)
		return -1;
	for (uint32_t i = 0; i < s->setup.nslots; i++) {
		s->slot_id[i] = kq_vm_slot_find(s->vm, s->setup.slots[i].gpa);
		size_t words = (slot_pages(s, (int)i) + 63) / 64;
		s->pending[i] = calloc(words, 8);
		s->sent[i] = calloc(words, 8);
		if (s->slot_id[i] < 0 || !s->pending[i] || !s->sent[i])
			return kq_err_set("slot %u: bitmaps", i);
	}
	if (kq_vm_start(s->vm) < 0)
		return -1;
	double t0 = kq_mig_now();
	while (ctl(s->vm)->started < (uint64_t)o->wl.vcpus) {
		if (kq_mig_now() - t0 > 10)
			return kq_err_set("the guest did not start its workload within 10 s");
		if (kq_vm_wait(s->vm, 0.01) != 1)
			return kq_err_set("the guest stopped before the migration: %s",
					  kq_vm_failure(s->vm));
	}
	usleep((useconds_t)(o->warmup_s * 1e6));
	return measure_fixed_cost(s);
}

static int migrate(struct src *s)
{
	const struct kq_mig_send_opts *o = s->o;
	struct kq_mig_send_result *r = s->r;
	double t0 = kq_mig_now();
	if (kq_mig_connect(o->to, o->key, 30, &s->conn, s->err, sizeof(s->err)) < 0)
		return kq_err_set("%s", s->err);
	s->connected = true;
	kq_bytes_reset(&s->payload);
	kq_mig_setup_put(&s->payload, &s->setup);
	frame(s, KQ_MF_SETUP, s->payload.p, s->payload.len);
	if (o->fault == KQ_FAULT_WRONG_VERSION)
		s->out.p[4] = 99;
	if (flush(s) < 0)
		return -1;
	struct kq_mig_ack a;
	if (wait_ack(s, KQ_MIG_ACK_SETUP, &a) < 0)
		return -1;
	r->setup_s = kq_mig_now() - t0;
	/* Iteration 0 sends everything; the dirty logs start over here. */
	uint64_t n;
	if (collect(s, &n) < 0)
		return -1;
	r->writes_at_track = s->writes_at_collect = ctl(s->vm)->writes;
	for (uint32_t i = 0; i < s->setup.nslots; i++)
		memset(s->pending[i], 0xff, (slot_pages(s, (int)i) + 63) / 64 * 8);
	for (uint32_t i = 0; i < s->setup.nslots; i++)
		if (slot_pages(s, (int)i) % 64)
			s->pending[i][slot_pages(s, (int)i) / 64] &=
			    (1ULL << (slot_pages(s, (int)i) % 64)) - 1;
	n = 0;
	for (uint32_t i = 0; i < s->setup.nslots; i++)
		n += slot_pages(s, (int)i);
	double budget_ms = o->downtime_ms - r->fixed_cost_ms;
	for (uint32_t iter = 0;; iter++) {
		struct kq_mig_iter_result *ir = &r->it[r->iters];
		double ts = kq_mig_now();
		uint64_t wire0 = s->st.wire_bytes;
		ir->pages = n;
		if (send_pending(s, iter, false) < 0 || drain(s, o->max_time_s) < 0)
			return -1;
		double send_s = kq_mig_now() - ts; /* the link's time; min_iter_s is not */
		if (o->fault == KQ_FAULT_TRUNCATE && iter == 0) {
			kq_bytes_reset(&s->payload);
			kq_mig_state_put(&s->payload, KQ_MIG_STATE_VM, 0, "cut", 3);
			frame(s, KQ_MF_STATE, s->payload.p, s->payload.len);
			s->out.len -= 10; /* half a frame, then the connection closes */
			flush(s);
			shutdown(s->conn.fd, SHUT_WR);
			return kq_err_set("stream truncated on purpose (fault injection)");
		}
		if (o->fault == KQ_FAULT_KILL_DEST && iter == 0 && o->kill_pid > 0) {
			kill(o->kill_pid, SIGKILL);
			usleep(50000);
		}
		if (kq_mig_now() - ts < o->min_iter_s)
			usleep((useconds_t)((o->min_iter_s - (kq_mig_now() - ts)) * 1e6));
		if (iter == 0 || fault_needs_pages(o))
			await_write(s);
		ir->seconds = kq_mig_now() - ts;
		ir->wire_bytes = s->st.wire_bytes - wire0;
		ir->bandwidth_Bps = send_s > 0 ? (double)ir->wire_bytes / send_s : 0;
		if (collect(s, &n) < 0)
			return -1;
		s->writes_at_collect = ctl(s->vm)->writes;
		ir->dirty_pages = n;
		ir->dirty_rate_pps = ir->seconds > 0 ? (double)n / ir->seconds : 0;
		r->iters++;
		double bw = ir->bandwidth_Bps > 0 ? ir->bandwidth_Bps : 1;
		double need_ms = (double)n * KQ_MIG_PAGE / bw * 1e3;
		/* Nothing dirty: nothing to gain by waiting, even where the fixed
		 * cost alone exceeds the limit (the emulated host). */
		if (iter >= 1 && (n == 0 || need_ms <= budget_ms))
			return switchover(s, iter + 1);
		double el = kq_mig_now() - t0;
		if (r->iters >= o->max_iters || r->iters >= KQ_MIG_MAX_ITERS ||
		    el >= o->max_time_s) {
			snprintf(r->reason, sizeof(r->reason),
				 "did not converge after %d iterations (%.2f s): the guest dirties "
				 "%.0f pages/s (%.1f MB/s), the link carried %.1f MB/s; the %llu "
				 "dirty pages left need %.1f ms against a budget of %.1f ms "
				 "(limit %.0f ms - fixed cost %.1f ms)",
				 r->iters, el, ir->dirty_rate_pps,
				 ir->dirty_rate_pps * KQ_MIG_PAGE / 1e6, bw / 1e6,
				 (unsigned long long)n, need_ms, budget_ms, o->downtime_ms,
				 r->fixed_cost_ms);
			abort_stream(s, r->reason);
			r->status = 1;
			return 1;
		}
		if (o->auto_converge && iter >= 1 && ir->dirty_rate_pps * KQ_MIG_PAGE > bw / 2) {
			s->throttle_ms = s->throttle_ms ? s->throttle_ms * 2 : 1;
			if (s->throttle_ms > 50)
				s->throttle_ms = 50;
		}
	}
}

int kq_mig_send(const struct kq_mig_send_opts *o, struct kq_mig_send_result *r)
{
	struct src *s = calloc(1, sizeof(*s));
	memset(r, 0, sizeof(*r));
	r->throttle = 1;
	if (!s)
		return -1;
	s->o = o;
	s->r = r;
	s->conn.fd = -1;
	s->pagemap = kq_mig_pagemap_open();
	if (o->zstd)
		s->z = kq_mig_zstd_new(1);
	double t0 = kq_mig_now();
	int rc = setup_vm(s);
	if (rc < 0) {
		snprintf(r->reason, sizeof(r->reason), "source VM: %s", kq_err());
		r->status = -1;
		goto out;
	}
	rc = migrate(s);
	r->total_s = kq_mig_now() - t0;
	if (rc == 0) {
		/* The destination runs; wait for its guest's report. */
		kq_vm_destroy(s->vm);
		s->vm = NULL;
		struct kq_mig_ack a;
		if (wait_ack(s, KQ_MIG_ACK_FINISHED, &a) < 0) {
			snprintf(r->reason, sizeof(r->reason),
				 "migrated, but the destination's guest did not report: %s",
				 kq_err());
			r->status = -1;
			goto out;
		}
		r->guest_gap_ms = (double)a.v[KQ_ACKV_HEARTBEAT_GAP_NS] / 1e6;
		r->verifier_errors = a.v[KQ_ACKV_VERIFIER_ERRORS];
		r->verifier_writes = a.v[KQ_ACKV_VERIFIER_WRITES];
		r->verifier_ran = o->wl.mode == KQ_MIG_VERIFY;
		r->guest_ok = a.v[KQ_ACKV_WORKLOAD_OK] == 1;
		r->status = 0;
	} else {
		if (rc < 0) {
			snprintf(r->reason, sizeof(r->reason), "%s", kq_err());
			abort_stream(s, r->reason);
			r->status = -1;
		}
		/* Any failure before the destination ran: the source goes on. */
		if (s->paused && kq_vm_resume(s->vm) == 0)
			s->paused = false;
		r->source_resumed = !s->paused;
		int w = finish_guest(s, 0.2);
		r->guest_ok = w == 0;
		r->source_gap_ms = (double)s->gap_cycles * 1e3 / (double)kq_vm_tsc_khz(s->vm);
		r->verifier_errors = s->ver_errors;
		r->verifier_writes = s->ver_writes;
		r->verifier_ran = s->ver_ran;
	}
	r->pages_sent = s->st.pages;
	r->zero_pages = s->st.zero_pages;
	r->wire_bytes = s->st.wire_bytes;
	r->raw_bytes = s->st.raw_bytes;
	r->compression_ratio =
	    s->st.wire_bytes ? (double)(s->st.raw_bytes) / (double)s->st.wire_bytes : 1;
	r->throttle = s->throttle_ms;
out:
	if (s->connected)
		kq_mig_conn_close(&s->conn);
	kq_vm_destroy(s->vm);
	kq_kvm_close(&s->kvm);
	for (int i = 0; i < KQ_MIG_MAX_SLOTS; i++) {
		free(s->pending[i]);
		free(s->sent[i]);
	}
	kq_bytes_free(&s->out);
	kq_bytes_free(&s->payload);
	kq_mig_zstd_free(s->z);
	if (s->pagemap >= 0)
		close(s->pagemap);
	free(s);
	return r->status == 0 ? 0 : -1;
}
