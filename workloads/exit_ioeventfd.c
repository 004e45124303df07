/* ioeventfd-signalled writes: KVM_IOEVENTFD turns each guest write to one
 * MMIO address (or port) into an eventfd signal inside the kernel, with no
 * exit to userspace. A host thread drains the eventfd as a device model's
 * would, and the total it read must equal the writes the guest made. */
#include "workloads/exit_common.h"
#include "vmm/err.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct iofd {
	int efd;
	bool pio, drain, thread_started;
	pthread_t thread;
	atomic_bool stop;
	_Atomic uint64_t signalled;
	_Atomic uint64_t wakeups; /* reads that found the counter non-zero */
};

static void drain_once(struct iofd *s)
{
	uint64_t v;
	if (read(s->efd, &v, sizeof(v)) == (ssize_t)sizeof(v)) {
		atomic_fetch_add(&s->signalled, v);
		atomic_fetch_add(&s->wakeups, 1);
	}
}

static void *drain_thread(void *arg)
{
	struct iofd *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->efd, .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			drain_once(s);
	}
	return NULL;
}

static const struct kq_param_spec ioeventfd_params[] = {
    {"space", KQ_PT_STRING, "mmio (default: an unbacked guest-physical address) or pio (a port)"},
    {"drain", KQ_PT_BOOL, "a host thread reads the eventfd while the guest writes (default yes)"},
    {NULL, 0, NULL},
};

static int ioeventfd_prepare(struct kq_exit_ctx *c)
{
	static struct iofd s;
	memset(&s, 0, sizeof(s));
	s.efd = -1;
	c->priv = &s;
	const char *space = kq_test_param(c->t, "space", "mmio");
	if (strcmp(space, "mmio") != 0 && strcmp(space, "pio") != 0) {
		kq_result_set_status(c->res, KQ_FAIL, "space = %s: expected mmio or pio", space);
		return -1;
	}
	s.pio = strcmp(space, "pio") == 0;
	s.drain = kq_test_param_bool(c->t, "drain", true);
	c->go.args[0] = s.pio ? KQ_IOEVENT_PIO : KQ_IOEVENT_MMIO;
	s.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s.efd < 0) {
		kq_result_set_status(c->res, KQ_FAIL, "eventfd: %s (%s)", strerror(errno),
				     kq_errno_name(errno));
		return -1;
	}
	return 0;
}

static int ioeventfd_setup(struct kq_exit_ctx *c, struct kq_guest_run *g)
{
	struct iofd *s = c->priv;
	/* len 1: the guest's single-byte writes; no datamatch, every write counts. */
	struct kvm_ioeventfd io = {
	    .addr = s->pio ? KQ_IOEVENTFD_PORT : KQ_IOEVENTFD_GPA,
	    .len = 1,
	    .fd = s->efd,
	    .flags = s->pio ? KVM_IOEVENTFD_FLAG_PIO : 0,
	};
	if (KQ_IOCTL(kq_vm_fd(g->vm), KVM_IOEVENTFD, &io) < 0) {
		kq_result_set_status(c->res, KQ_FAIL, "%s", kq_err());
		return -1;
	}
	if (s->drain) {
		int e = pthread_create(&s->thread, NULL, drain_thread, s);
		if (e) {
			kq_result_set_status(c->res, KQ_FAIL, "pthread_create (eventfd drain): %s",
					     strerror(e));
			return -1;
		}
		s->thread_started = true;
	}
	return 0;
}

static void ioeventfd_finish(struct kq_exit_ctx *c, bool ran)
{
	struct iofd *s = c->priv;
	if (!s)
		return;
	if (s->thread_started) {
		atomic_store(&s->stop, true);
		pthread_join(s->thread, NULL);
	}
	if (s->efd >= 0) {
		drain_once(s); /* what arrived after the thread's last read */
		close(s->efd);
	}
	if (!ran)
		return;
	uint64_t got = atomic_load(&s->signalled);
	char wname[64];
	snprintf(wname, sizeof(wname), "%s.writes", c->k->kind);
	json_t *m = kq_result_find_metric(c->res, wname);
	uint64_t writes = m ? (uint64_t)json_number_value(json_object_get(m, "value")) : 0;
	snprintf(wname, sizeof(wname), "%s.signalled", c->k->kind);
	kq_result_add_value(c->res, wname, "count", (double)got);
	kq_result_set_evidence(c->res, "eventfd",
			       json_pack("{s:s, s:I, s:I, s:b}", "space", s->pio ? "pio" : "mmio",
					 "signalled", (json_int_t)got, "drain_reads",
					 (json_int_t)atomic_load(&s->wakeups), "drained_live",
					 s->drain));
	if (!m || got != writes)
		kq_result_set_status(c->res, KQ_FAIL,
				     "the guest wrote %llu times, the eventfd counted %llu signals",
				     (unsigned long long)writes, (unsigned long long)got);
	/* No write may have reached userspace: the ucalls are port writes, so
	 * only the MMIO variant can insist on none at all. */
	const char *reason = s->pio ? "IO" : "MMIO";
	int64_t n = kq_exit_evidence_count(c->res, "userspace_exits", reason);
	if ((s->pio && n >= (int64_t)(writes / 2)) || (!s->pio && n > 0))
		kq_result_set_status(
		    c->res, KQ_FAIL,
		    "%lld KVM_EXIT_%s reached userspace: the ioeventfd did not take "
		    "the writes",
		    (long long)n, reason);
}

/* Row ioeventfd of workloads/exit_table.def. */
const struct kq_exit_hooks kq_exit_hooks_ioeventfd = {
    .params = ioeventfd_params,
    .prepare = ioeventfd_prepare,
    .setup = ioeventfd_setup,
    .finish = ioeventfd_finish,
};
