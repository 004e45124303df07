/* Run control: vCPU threads (start, wait, pause, resume, stop), single runs
 * on the caller's thread (run_once), and each VM's own watchdog thread.
 *
 * A vCPU is kicked out of KVM_RUN by immediate_exit plus a signal to the
 * thread running it; the signal handler is the only process-wide state. */
#include "vmm/vm_internal.h"
#include "vmm/err.h"

#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define KQ_KICK_SIGNAL SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only interrupts KVM_RUN */
}

static void install_kick_handler_once(void)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigemptyset(&sa.sa_mask);
	sigaction(KQ_KICK_SIGNAL, &sa, NULL); /* no SA_RESTART: KVM_RUN returns EINTR */
}

static void install_kick_handler(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, install_kick_handler_once);
}

static void set_immediate_exit(struct kq_vcpu *v, uint8_t on)
{
	if (v->run)
		__atomic_store_n(&v->run->immediate_exit, on, __ATOMIC_SEQ_CST);
}

static void set_runner(struct kq_vcpu *v, bool on)
{
	pthread_mutex_lock(&v->kick_lock);
	v->runner = pthread_self();
	v->has_runner = on;
	pthread_mutex_unlock(&v->kick_lock);
}

static void kick(struct kq_vcpu *v)
{
	set_immediate_exit(v, 1);
	pthread_mutex_lock(&v->kick_lock);
	if (v->has_runner)
		pthread_kill(v->runner, KQ_KICK_SIGNAL);
	pthread_mutex_unlock(&v->kick_lock);
}

static void broadcast(struct kq_vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
}

void kq_vm_stop(struct kq_vm *vm)
{
	atomic_store(&vm->stopping, true);
	for (int i = 0; i < vm->nvcpus; i++)
		kick(&vm->vcpus[i]);
	broadcast(vm); /* parked threads wake up and leave */
}

void kq_vcpu_fail(struct kq_vcpu *v, const char *fmt, ...)
{
	struct kq_vm *vm = v->vm;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(v->failure, sizeof(v->failure), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&vm->lock);
	if (!vm->failure[0])
		snprintf(vm->failure, sizeof(vm->failure), "vCPU %d: %s", v->index, v->failure);
	pthread_mutex_unlock(&vm->lock);
	kq_vm_stop(vm);
}

const char *kq_vm_failure(const struct kq_vm *vm)
{
	return vm->failure[0] ? vm->failure : "no failure";
}

uint64_t kq_vm_startup_ns(const struct kq_vm *vm)
{
	uint64_t t = atomic_load(&vm->t_first_exit_ns);
	return t ? t - vm->t_create_ns : 0;
}

static void abs_time(struct timespec *ts, uint64_t mono_ns)
{
	ts->tv_sec = (time_t)(mono_ns / 1000000000ULL);
	ts->tv_nsec = (long)(mono_ns % 1000000000ULL);
}

/* --- the watchdog -------------------------------------------------------- */

static void *watchdog(void *arg)
{
	struct kq_vm *vm = arg;
	pthread_mutex_lock(&vm->run_lock);
	while (!vm->closing) {
		if (!vm->deadline_ns) {
			pthread_cond_wait(&vm->run_cond, &vm->run_lock);
			continue;
		}
		if (kq_now_ns() < vm->deadline_ns) {
			struct timespec ts;
			abs_time(&ts, vm->deadline_ns);
			pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, &ts);
			continue;
		}
		vm->deadline_ns = 0;
		atomic_store(&vm->watchdog_fired, true);
		pthread_mutex_unlock(&vm->run_lock);
		kq_vm_stop(vm);
		pthread_mutex_lock(&vm->run_lock);
	}
	pthread_mutex_unlock(&vm->run_lock);
	return NULL;
}

/* Arms the watchdog for time_limit_s from now (with force, or when unarmed). */
static int arm_watchdog(struct kq_vm *vm, bool force)
{
	if (!(vm->cfg.time_limit_s > 0))
		return 0;
	pthread_mutex_lock(&vm->run_lock);
	int e = 0;
	if (!vm->wd_started) {
		e = pthread_create(&vm->wd_thread, NULL, watchdog, vm);
		vm->wd_started = e == 0;
	}
	if (!e && (force || !vm->deadline_ns)) {
		vm->deadline_ns = kq_deadline_ns(vm->cfg.time_limit_s);
		pthread_cond_broadcast(&vm->run_cond);
	}
	pthread_mutex_unlock(&vm->run_lock);
	if (e) {
		errno = e;
		return kq_err_errno("pthread_create (watchdog)");
	}
	return 0;
}

static void watchdog_failure(struct kq_vcpu *v)
{
	struct kq_vm *vm = v->vm;
	if (!atomic_load(&vm->watchdog_fired) || atomic_load(&v->done) || v->failure[0])
		return;
	char regs[400];
	kq_vcpu_describe_regs(v, regs, sizeof(regs));
	kq_vcpu_fail(v, "watchdog: not done within %.1f s time limit, stopped at %s",
		     vm->cfg.time_limit_s, regs);
}

void kq_run_init(struct kq_vm *vm)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_mutex_init(&vm->run_lock, NULL);
	pthread_cond_init(&vm->run_cond, &a);
	pthread_condattr_destroy(&a);
}

void kq_run_destroy(struct kq_vm *vm)
{
	if (vm->threads) {
		kq_vm_stop(vm);
		kq_vm_wait(vm, -1);
	}
	pthread_mutex_lock(&vm->run_lock);
	vm->closing = true;
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
	if (vm->wd_started)
		pthread_join(vm->wd_thread, NULL);
	pthread_cond_destroy(&vm->run_cond);
	pthread_mutex_destroy(&vm->run_lock);
}

/* --- vCPU threads -------------------------------------------------------- */

static int pin_thread(struct kq_vcpu *v)
{
	if (v->host_cpu < 0)
		return 0;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(v->host_cpu, &set);
	int e = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (e) {
		kq_vcpu_fail(v, "pthread_setaffinity_np(CPU %d): %s", v->host_cpu, strerror(e));
		return -1;
	}
	return 0;
}

/* Parks the thread until kq_vm_resume or a stop. */
static void park(struct kq_vcpu *v)
{
	struct kq_vm *vm = v->vm;
	pthread_mutex_lock(&vm->run_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->run_cond);
	while (vm->pause_req && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	vm->parked--;
	/* A stop after this still sets it again before the loop checks stopping. */
	if (!atomic_load(&vm->stopping))
		set_immediate_exit(v, 0);
	pthread_mutex_unlock(&vm->run_lock);
}

static void note_first_exit(struct kq_vcpu *v)
{
	if (v->index == 0 && !atomic_load(&v->vm->t_first_exit_ns))
		atomic_store(&v->vm->t_first_exit_ns, kq_now_ns());
}

static void *vcpu_thread(void *arg)
{
	struct kq_vcpu *v = arg;
	struct kq_vm *vm = v->vm;
	set_runner(v, true);
	if (pin_thread(v) < 0)
		goto out;
	for (;;) {
		if (atomic_load(&vm->stopping))
			break;
		pthread_mutex_lock(&vm->run_lock);
		bool pause = vm->pause_req;
		pthread_mutex_unlock(&vm->run_lock);
		if (pause) {
			park(v);
			continue;
		}
		int r = ioctl(v->fd, KVM_RUN, NULL);
		if (r < 0 && errno != EINTR) {
			kq_vcpu_fail(v, "ioctl KVM_RUN: %s (%s)", strerror(errno),
				     kq_errno_name(errno));
			break;
		}
		note_first_exit(v);
		if (r < 0 || v->run->exit_reason == KVM_EXIT_INTR) {
			v->exits[KVM_EXIT_INTR]++;
			continue; /* a kick: the loop looks at why */
		}
		if (kq_vcpu_handle_exit(v) <= 0)
			break;
	}
	watchdog_failure(v);
out:
	set_runner(v, false);
	pthread_mutex_lock(&vm->run_lock);
	vm->live--;
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
	return NULL;
}

int kq_vm_start(struct kq_vm *vm)
{
	install_kick_handler();
	if (vm->threads)
		return kq_err_set("kq_vm_start: vCPU threads already running");
	atomic_store(&vm->stopping, false);
	atomic_store(&vm->watchdog_fired, false);
	pthread_mutex_lock(&vm->run_lock);
	vm->pause_req = false;
	vm->live = 0;
	pthread_mutex_unlock(&vm->run_lock);
	if (arm_watchdog(vm, true) < 0)
		return -1;
	for (int i = 0; i < vm->nvcpus; i++)
		set_immediate_exit(&vm->vcpus[i], 0);
	vm->threads = true;
	for (int i = 0; i < vm->nvcpus; i++) {
		struct kq_vcpu *v = &vm->vcpus[i];
		pthread_mutex_lock(&vm->run_lock);
		vm->live++;
		pthread_mutex_unlock(&vm->run_lock);
		int e = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (e) {
			pthread_mutex_lock(&vm->run_lock);
			vm->live--;
			pthread_mutex_unlock(&vm->run_lock);
			v->thread = 0;
			kq_vcpu_fail(v, "pthread_create: %s", strerror(e));
			break;
		}
	}
	return 0;
}

int kq_vm_wait(struct kq_vm *vm, double timeout_s)
{
	if (!vm->threads)
		return kq_err_set("kq_vm_wait: no vCPU threads (kq_vm_start was not called)");
	uint64_t until = timeout_s < 0 ? 0 : kq_now_ns() + (uint64_t)(timeout_s * 1e9);
	pthread_mutex_lock(&vm->run_lock);
	while (vm->live > 0) {
		if (!until) {
			pthread_cond_wait(&vm->run_cond, &vm->run_lock);
			continue;
		}
		if (kq_now_ns() >= until) {
			pthread_mutex_unlock(&vm->run_lock);
			return 1;
		}
		struct timespec ts;
		abs_time(&ts, until);
		pthread_cond_timedwait(&vm->run_cond, &vm->run_lock, &ts);
	}
	vm->deadline_ns = 0; /* the run is over: disarm the watchdog */
	pthread_mutex_unlock(&vm->run_lock);
	for (int i = 0; i < vm->nvcpus; i++)
		if (vm->vcpus[i].thread) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread = 0;
		}
	vm->threads = false;
	for (int i = 0; i < vm->nvcpus; i++)
		if (!atomic_load(&vm->vcpus[i].done) && !vm->failure[0])
			kq_vcpu_fail(&vm->vcpus[i], "stopped before DONE");
	if (vm->failure[0])
		return kq_err_set("%s", vm->failure);
	return 0;
}

int kq_vm_run(struct kq_vm *vm)
{
	if (kq_vm_start(vm) < 0)
		return -1;
	return kq_vm_wait(vm, -1);
}

int kq_vm_pause(struct kq_vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	vm->pause_req = true;
	pthread_mutex_unlock(&vm->run_lock);
	for (int i = 0; i < vm->nvcpus; i++)
		kick(&vm->vcpus[i]);
	/* Every live thread parks (or ends); a parked one is out of KVM_RUN. */
	pthread_mutex_lock(&vm->run_lock);
	while (vm->parked < vm->live)
		pthread_cond_wait(&vm->run_cond, &vm->run_lock);
	pthread_mutex_unlock(&vm->run_lock);
	return 0;
}

int kq_vm_resume(struct kq_vm *vm)
{
	pthread_mutex_lock(&vm->run_lock);
	bool was = vm->pause_req;
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->run_cond);
	pthread_mutex_unlock(&vm->run_lock);
	return was ? 0 : kq_err_set("kq_vm_resume: the VM is not paused");
}

/* --- one vCPU on the caller's thread -------------------------------------- */

int kq_vcpu_run_once(struct kq_vcpu *v, struct kq_vcpu_event *ev)
{
	struct kq_vm *vm = v->vm;
	install_kick_handler();
	if (vm->threads)
		return kq_err_set("run_once vCPU %d: the VM's vCPU threads are running", v->index);
	if (arm_watchdog(vm, false) < 0)
		return -1;
	set_runner(v, true);
	int rc = 0;
	for (;;) {
		if (atomic_load(&vm->stopping)) {
			watchdog_failure(v);
			*ev = (struct kq_vcpu_event){.kind = KQ_EV_STOPPED,
						     .exit_reason = KVM_EXIT_INTR};
			break;
		}
		int r = ioctl(v->fd, KVM_RUN, NULL);
		if (r < 0 && errno != EINTR) {
			rc = kq_err_errno("ioctl KVM_RUN (vCPU %d)", v->index);
			break;
		}
		note_first_exit(v);
		if (r < 0 || v->run->exit_reason == KVM_EXIT_INTR) {
			v->exits[KVM_EXIT_INTR]++;
			continue;
		}
		int h = kq_exit_dispatch(v, ev);
		if (h == 0)
			break;
		if (h < 0) {
			*ev = (struct kq_vcpu_event){.kind = KQ_EV_FAILED,
						     .exit_reason = v->run->exit_reason};
			break;
		}
	}
	set_runner(v, false);
	return rc;
}
