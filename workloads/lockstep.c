#include "workloads/lockstep.h"
#include "vmm/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t kq_lockstep_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* With ls->lock held. */
static void fail_locked(struct kq_lockstep *ls, int vcpu, const char *what)
{
	if (!ls->failure[0] && vcpu >= 0)
		snprintf(ls->failure, sizeof(ls->failure), "vCPU %d: %s", vcpu, what);
	else if (!ls->failure[0])
		snprintf(ls->failure, sizeof(ls->failure), "%s", what);
}

static void *vcpu_thread(void *arg)
{
	struct kq_lockstep_vcpu *c = arg;
	struct kq_lockstep *ls = c->ls;
	int idx = kq_vcpu_index(c->v);
	uint64_t gen = 0;
	for (;;) {
		struct kq_vcpu_event ev;
		int r = kq_vcpu_run_once(c->v, &ev);
		if (r == 0 && ev.kind == KQ_EV_UCALL && ev.ucall == KQ_UC_PRINT) {
			/* Kept for the failure message that usually follows. */
			size_t len = strnlen(ev.uc->text, sizeof(ev.uc->text));
			if (len >= sizeof(c->print))
				len = sizeof(c->print) - 1;
			memcpy(c->print, ev.uc->text, len);
			c->print[len] = '\0';
			continue;
		}
		uint64_t now = kq_lockstep_now_ns();
		char why[400] = "";
		bool sync = false, done = false;
		if (r < 0)
			snprintf(why, sizeof(why), "%s", kq_err());
		else if (ev.kind == KQ_EV_UCALL && ev.ucall == KQ_UC_SYNC)
			sync = true;
		else if (ev.kind == KQ_EV_UCALL && ev.ucall == KQ_UC_DONE)
			done = true;
		else if (ev.kind == KQ_EV_UCALL && ev.ucall == KQ_UC_ASSERT)
			snprintf(why, sizeof(why), "guest assertion failed: %.*s%s%.120s",
				 (int)sizeof(ev.uc->text), ev.uc->text, c->print[0] ? "; " : "",
				 c->print);
		else if (ev.kind == KQ_EV_UCALL)
			snprintf(why, sizeof(why), "unexpected ucall kind %u", ev.ucall);
		else if (ev.kind == KQ_EV_EXIT)
			snprintf(why, sizeof(why), "unexpected exit %s",
				 kq_exit_reason_name(ev.exit_reason));
		else
			snprintf(why, sizeof(why), "%s",
				 kq_vcpu_failure(c->v)[0] ? kq_vcpu_failure(c->v)
							  : "stopped (watchdog)");
		pthread_mutex_lock(&ls->lock);
		c->arrived_ns = now;
		if (sync)
			c->sync_stage = ev.uc->args[0];
		else
			c->finished = true;
		if (!sync && !done)
			fail_locked(ls, idx, why);
		ls->arrived++;
		pthread_cond_broadcast(&ls->cond);
		while (sync && ls->gen == gen && !ls->failure[0])
			pthread_cond_wait(&ls->cond, &ls->lock);
		bool stop = !sync || ls->failure[0];
		if (sync && stop && ls->gen != gen) {
			/* Released into a round that another vCPU's failure already
			 * ended: it will not run again, so it is back at once (else
			 * kq_lockstep_wait counts it missing until its timeout). */
			c->finished = true;
			ls->arrived++;
			pthread_cond_broadcast(&ls->cond);
		}
		gen = ls->gen;
		pthread_mutex_unlock(&ls->lock);
		if (stop)
			return NULL;
	}
}

int kq_lockstep_start(struct kq_lockstep *ls, struct kq_vm *vm)
{
	memset(ls, 0, sizeof(*ls));
	ls->vm = vm;
	ls->n = kq_vm_nvcpus(vm);
	ls->cpu = calloc((size_t)ls->n, sizeof(*ls->cpu));
	if (!ls->cpu)
		return kq_err_set("out of memory for %d vCPU threads", ls->n);
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	for (int i = 0; i < ls->n; i++) {
		struct kq_lockstep_vcpu *c = &ls->cpu[i];
		c->ls = ls;
		c->v = kq_vm_vcpu(vm, i);
		int e = pthread_create(&c->thread, NULL, vcpu_thread, c);
		if (e) {
			errno = e;
			kq_err_errno("pthread_create (vCPU %d)", i);
			kq_lockstep_end(ls);
			return -1;
		}
		c->started = true;
	}
	return 0;
}

int kq_lockstep_wait(struct kq_lockstep *ls, double timeout_s)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += (time_t)timeout_s;
	pthread_mutex_lock(&ls->lock);
	int e = 0;
	while (ls->arrived < ls->n && e != ETIMEDOUT)
		e = pthread_cond_timedwait(&ls->cond, &ls->lock, &dl);
	if (ls->arrived < ls->n)
		fail_locked(ls, -1, "vCPUs did not come back in time");
	int finished = 0;
	for (int i = 0; i < ls->n; i++)
		finished += ls->cpu[i].finished;
	if (finished && finished < ls->n)
		fail_locked(ls, -1, "some vCPUs finished while others wait at a SYNC");
	int r = ls->failure[0] ? -1 : finished ? 1 : 0;
	pthread_mutex_unlock(&ls->lock);
	return r;
}

uint64_t kq_lockstep_release(struct kq_lockstep *ls)
{
	pthread_mutex_lock(&ls->lock);
	ls->arrived = 0;
	ls->gen++;
	uint64_t t = kq_lockstep_now_ns();
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	return t;
}

uint64_t kq_lockstep_last_arrival(const struct kq_lockstep *ls)
{
	uint64_t t = 0;
	for (int i = 0; i < ls->n; i++)
		if (ls->cpu[i].arrived_ns > t)
			t = ls->cpu[i].arrived_ns;
	return t;
}

void kq_lockstep_end(struct kq_lockstep *ls)
{
	if (!ls->cpu)
		return;
	pthread_mutex_lock(&ls->lock);
	if (!ls->failure[0])
		snprintf(ls->failure, sizeof(ls->failure), "ended");
	bool running = ls->arrived < ls->n;
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	if (running)
		kq_vm_stop(ls->vm);
	for (int i = 0; i < ls->n; i++)
		if (ls->cpu[i].started)
			pthread_join(ls->cpu[i].thread, NULL);
	pthread_mutex_destroy(&ls->lock);
	pthread_cond_destroy(&ls->cond);
	free(ls->cpu);
	ls->cpu = NULL;
}
