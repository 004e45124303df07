#include "isolation-tests/isob_util.h"
#include "isolation-tests/isob_abi.h"
#include "probes/topology.h"
#include "vmm/err.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

static void *child_thread(void *arg)
{
	struct isob_child *c = arg;
	c->status = -1;
	c->rc = kq_run_in_child(c->kvm, c->fn, c->ctx, c->limit_s, &c->status);
	if (c->rc < 0)
		snprintf(c->err, sizeof(c->err), "%s", kq_err());
	return NULL;
}

int isob_child_start(struct isob_child *c)
{
	c->err[0] = 0;
	int e = pthread_create(&c->thread, NULL, child_thread, c);
	if (e) {
		snprintf(c->err, sizeof(c->err), "pthread_create: %s", strerror(e));
		return -1;
	}
	c->started = true;
	return 0;
}

int isob_child_join(struct isob_child *c)
{
	if (!c->started)
		return -1;
	pthread_join(c->thread, NULL);
	c->started = false;
	if (c->rc < 0)
		return -1;
	if (c->status != 0) {
		snprintf(c->err, sizeof(c->err), "tenant process exited with status %d", c->status);
		return -1;
	}
	return 0;
}

double isob_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t isob_host_tsc(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

bool isob_wait_flag(volatile int *flag, int want, volatile int *abort, double timeout_s)
{
	double until = isob_now_s() + timeout_s;
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < want) {
		if ((abort && __atomic_load_n(abort, __ATOMIC_ACQUIRE)) || isob_now_s() > until)
			return false;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	return true;
}

struct kq_vm *isob_vm_create(struct kq_kvm *kvm, const char *workload, const uint64_t *args,
			     uint64_t test_mem, int cpu, double limit_s, char *err, size_t len)
{
	if (cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			snprintf(err, len, "sched_setaffinity(CPU %d): %s", cpu, strerror(errno));
			return NULL;
		}
	}
	int cpus[1] = {cpu};
	struct kq_vm_config cfg = {
	    .vcpus = 1,
	    .test_mem = test_mem,
	    .backing = KQ_BACK_ANON,
	    .page_size = KQ_PG_4K,
	    .time_limit_s = limit_s,
	    .cpus = cpu >= 0 ? cpus : NULL,
	    .workload = workload,
	};
	if (args)
		memcpy(cfg.args, args, sizeof(cfg.args));
	struct kq_vm *vm = NULL;
	if (kq_vm_create(&vm, kvm, &cfg) < 0) {
		snprintf(err, len, "%s", kq_err());
		return NULL;
	}
	return vm;
}

const struct kq_ucall *isob_next_ucall(struct kq_vcpu *v, uint64_t *host_tsc, char *err, size_t len)
{
	for (;;) {
		struct kq_vcpu_event ev;
		if (kq_vcpu_run_once(v, &ev) < 0) {
			snprintf(err, len, "%s", kq_err());
			return NULL;
		}
		if (host_tsc)
			*host_tsc = isob_host_tsc();
		switch (ev.kind) {
		case KQ_EV_UCALL:
			if (ev.ucall == KQ_UC_SYNC || ev.ucall == KQ_UC_DONE ||
			    ev.ucall == KQ_UC_SAMPLES || ev.ucall == KQ_UC_RESULT)
				return ev.uc;
			if (ev.ucall == KQ_UC_PRINT)
				continue;
			if (ev.ucall == KQ_UC_EXCEPTION)
				snprintf(
				    err, len,
				    "guest exception %s (vector %llu) at RIP 0x%llx, error code "
				    "0x%llx",
				    kq_exception_name((unsigned)ev.uc->args[0]),
				    (unsigned long long)ev.uc->args[0],
				    (unsigned long long)ev.uc->args[1],
				    (unsigned long long)ev.uc->args[2]);
			else
				snprintf(err, len, "guest ucall %u: %.*s", ev.ucall,
					 (int)sizeof(ev.uc->text), ev.uc->text);
			return NULL;
		case KQ_EV_EXIT:
			snprintf(err, len, "unexpected exit %s",
				 kq_exit_reason_name(ev.exit_reason));
			return NULL;
		case KQ_EV_FAILED:
			snprintf(err, len, "%s", kq_vcpu_failure(v));
			return NULL;
		case KQ_EV_STOPPED:
			snprintf(err, len, "stopped (time limit): %s", kq_vcpu_failure(v));
			return NULL;
		}
	}
}

int isob_guest_tsc_offset(struct kq_vcpu *v, int n, int64_t *offset, char *err, size_t len)
{
	bool have = false;
	for (int i = 0; i < n; i++) {
		uint64_t h;
		const struct kq_ucall *uc = isob_next_ucall(v, &h, err, len);
		if (!uc)
			return -1;
		if (uc->kind != KQ_UC_SYNC) {
			snprintf(err, len, "guest sent ucall %u where a SYNC was due", uc->kind);
			return -1;
		}
		int64_t off = (int64_t)(uc->args[1] - h);
		if (!have || off > *offset)
			*offset = off;
		have = true;
	}
	return 0;
}

int isob_finish(struct kq_vcpu *v, char *err, size_t len)
{
	if (kq_vcpu_ucall_reply(v, 2, ISOB_CMD_DONE) < 0) {
		snprintf(err, len, "%s", kq_err());
		return -1;
	}
	for (int i = 0; i < 64; i++) {
		const struct kq_ucall *uc = isob_next_ucall(v, NULL, err, len);
		if (!uc)
			return -1;
		if (uc->kind == KQ_UC_DONE)
			return 0;
		if (uc->kind == KQ_UC_SYNC && kq_vcpu_ucall_reply(v, 2, ISOB_CMD_DONE) < 0) {
			snprintf(err, len, "%s", kq_err());
			return -1;
		}
	}
	snprintf(err, len, "the guest did not finish after 64 answers");
	return -1;
}

bool isob_emulated(const struct kq_run_opts *o)
{
	return o && o->environment && strcmp(o->environment, "emulated") == 0;
}

const char *isob_confidence_note(const struct kq_run_opts *o)
{
	return isob_emulated(o) ? " (emulated host: timings are functional checks only, low "
				  "confidence)"
				: "";
}

uint64_t isob_cache_bytes(int cpu, int level, uint64_t def)
{
	hwloc_topology_t topo;
	char why[128];
	if (kq_topology_load("", &topo, why, sizeof(why)) < 0)
		return def;
	uint64_t size = def;
	hwloc_obj_t o = hwloc_get_pu_obj_by_os_index(topo, (unsigned)(cpu < 0 ? 0 : cpu));
	hwloc_obj_type_t want = level == 2 ? HWLOC_OBJ_L2CACHE : HWLOC_OBJ_L3CACHE;
	for (; o; o = o->parent)
		if (o->type == want && o->attr && o->attr->cache.size) {
			size = o->attr->cache.size;
			break;
		}
	hwloc_topology_destroy(topo);
	return size;
}
