/* isolation.ksm: does the write latency of a page tell a tenant that another
 * tenant holds the same page (KSM merged them; the write copies on write)?
 * Two tenant VMs in their own processes, guest memory MADV_MERGEABLE, each
 * fills half its pages with content both share and half with its own. Where
 * KSM is off and we are root, it is turned on for the test (run = 1, a fast
 * scan rate) and every knob is restored afterwards by a guardian process
 * that outlives a killed test (it leaves the test's process group and
 * restores when the driver's pipe closes). After ksmd merged the shared
 * pages (bounded wait), tenant A times one write per page. Reported: median
 * write cycles of shared and own pages, their ratio, and how well a
 * threshold on one write tells them apart (detect_accuracy: 0.5 is chance).
 * A measurement; `max.detect_accuracy.value` makes it a verdict. */
#include "core/isostats.h"
#include "core/stats.h"
#include "isolation-tests/isob_abi.h"
#include "isolation-tests/iso_common.h"
#include "isolation-tests/isob_util.h"
#include "vmm/err.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KSM_DIR "/sys/kernel/mm/ksm/"

static const char *const knobs[] = {"run", "pages_to_scan", "sleep_millisecs"};
#define NKNOBS 3

static int knob_read(const char *name, char *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	bool ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static long knob_num(const char *name)
{
	char b[32];
	return knob_read(name, b, sizeof(b)) < 0 ? -1 : strtol(b, NULL, 10);
}

static int knob_write(const char *name, const char *val)
{
	char path[128];
	snprintf(path, sizeof(path), KSM_DIR "%s", name);
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* The guardian: restores the saved knobs when the driver's end of the pipe
 * closes, whether the driver finished or was killed. */
struct guardian {
	pid_t pid;
	int fd;
	char saved[NKNOBS][32];
};

static int guardian_start(struct guardian *g)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		pid_t driver = getppid();
		setsid(); /* out of the test's process group: the runner's kill misses it */
		close(p[1]);
		/* The pipe closes when the driver ends, unless a process forked from it
		 * later (a tenant) still holds the write end: watch the driver itself
		 * too, through a pidfd where the kernel has them (5.3+). */
		int pidfd = (int)syscall(SYS_pidfd_open, driver, 0);
		struct pollfd pf[2] = {{.fd = p[0], .events = POLLIN},
				       {.fd = pidfd, .events = POLLIN}};
		char c;
		for (;;) {
			int r = poll(pf, pidfd >= 0 ? 2 : 1, -1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 || (pidfd >= 0 && pf[1].revents))
				break;
			if (pf[0].revents) {
				ssize_t n = read(p[0], &c, 1);
				if (n == 0 || (n < 0 && errno != EINTR))
					break;
			}
		}
		/* run last, so ksmd stops at the old rate. */
		for (int i = NKNOBS - 1; i >= 0; i--)
			knob_write(knobs[i], g->saved[i]);
		_exit(0);
	}
	close(p[0]);
	g->pid = pid;
	g->fd = p[1];
	return 0;
}

static void guardian_finish(struct guardian *g)
{
	if (g->pid <= 0)
		return;
	close(g->fd);
	waitpid(g->pid, NULL, 0);
	g->pid = 0;
}

struct ksm_tenant {
	int phase, go, abort;
	char err[256];
	uint64_t pages, shared_seed, private_seed;
	uint64_t n;
	uint64_t cycles[KQ_MAX_SAMPLES];
	uint64_t khz;
};

static int tenant_fail(struct ksm_tenant *s)
{
	__atomic_store_n(&s->abort, 1, __ATOMIC_RELEASE);
	return 1;
}

static int tenant_main(struct kq_kvm *kvm, void *ctx)
{
	struct ksm_tenant *s = ctx;
	uint64_t args[KQ_MAX_ARGS] = {0};
	args[ISOB_KSM_ARG_PAGES] = s->pages;
	args[ISOB_KSM_ARG_SHARED] = s->shared_seed;
	args[ISOB_KSM_ARG_PRIVATE] = s->private_seed;
	uint64_t mem = (s->pages * 4096 + (2 << 20) - 1) & ~((2ULL << 20) - 1);
	struct kq_vm *vm =
	    isob_vm_create(kvm, "iso.ksm", args, mem, -1, 120, s->err, sizeof(s->err));
	if (!vm)
		return tenant_fail(s);
	const struct kq_mem *m = kq_vm_test_mem(vm);
	if (madvise(m->host, m->size, MADV_MERGEABLE) < 0) {
		snprintf(s->err, sizeof(s->err), "madvise(MADV_MERGEABLE, %llu bytes): %s",
			 (unsigned long long)m->size, strerror(errno));
		return tenant_fail(s);
	}
	struct kq_vcpu *v = kq_vm_vcpu(vm, 0);
	s->khz = kq_vm_tsc_khz(vm);
	const struct kq_ucall *uc = isob_next_ucall(v, NULL, s->err, sizeof(s->err));
	if (!uc)
		return tenant_fail(s);
	__atomic_store_n(&s->phase, 1, __ATOMIC_RELEASE); /* filled; parked in its SYNC */
	if (!isob_wait_flag(&s->go, 1, NULL, 110)) {
		snprintf(s->err, sizeof(s->err), "no word from the driver");
		return tenant_fail(s);
	}
	if (s->go == 1) {
		if (kq_vcpu_ucall_reply(v, 2, ISOB_CMD_GO) < 0) {
			snprintf(s->err, sizeof(s->err), "%s", kq_err());
			return tenant_fail(s);
		}
		uc = isob_next_ucall(v, NULL, s->err, sizeof(s->err));
		if (!uc || uc->kind != KQ_UC_SAMPLES || uc->count > KQ_MAX_SAMPLES)
			return tenant_fail(s);
		const uint64_t *d = kq_vm_gpa_to_hva(vm, uc->data_gpa, uc->count * 8);
		if (!d)
			return tenant_fail(s);
		memcpy(s->cycles, d, uc->count * 8);
		s->n = uc->count;
	}
	if (isob_finish(v, s->err, sizeof(s->err)) < 0)
		return tenant_fail(s);
	kq_vm_destroy(vm);
	return 0;
}

/* Fraction of pages a threshold on one write classifies right (shared:
 * slower). Otsu's split of all writes' logarithms, so the classifier knows no
 * labels and a few very slow writes (a fault that slept) do not pull the
 * split to themselves. w is overwritten. */
static double accuracy(double *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		w[i] = log(w[i] > 1 ? w[i] : 1);
	double thr = kq_two_cluster_threshold(w, n);
	size_t right = 0;
	for (size_t i = 0; i < n; i++)
		right += (w[i] > thr) == (i % 2 == 0);
	return (double)right / (double)n;
}

static void evaluate(struct kq_result *res, struct ksm_tenant *a, long merged, double waited,
		     const struct kq_run_opts *o)
{
	size_t n = a->n, half = n / 2;
	double *w = malloc(n * sizeof(*w)), *sh = malloc(half * sizeof(*sh)),
	       *own = malloc(half * sizeof(*own));
	if (!w || !sh || !own || !half) {
		kq_result_set_status(res, KQ_FAIL, "no write samples (%zu)", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		w[i] = (double)a->cycles[i];
	for (size_t k = 0; k < half; k++) {
		sh[k] = w[2 * k] * 1e6 / (double)a->khz;
		own[k] = w[2 * k + 1] * 1e6 / (double)a->khz;
	}
	json_t *m1 = kq_result_add_samples(res, "write_shared.ns", "ns", sh, half);
	json_t *m2 = kq_result_add_samples(res, "write_own.ns", "ns", own, half);
	double ms = json_real_value(json_object_get(json_object_get(m1, "stats"), "median"));
	double mo = json_real_value(json_object_get(json_object_get(m2, "stats"), "median"));
	double ratio = kq_slowdown_ratio(mo, ms), acc = accuracy(w, n);
	json_t *r = kq_result_add_value(res, "write_ratio", "ratio", ratio);
	json_object_set_new(json_object_get(r, "labels"), "better", json_string("lower"));
	r = kq_result_add_value(res, "detect_accuracy", "fraction", acc);
	json_object_set_new(json_object_get(r, "labels"), "better", json_string("lower"));
	kq_result_set_evidence(res, "ksm",
			       json_pack("{s:I, s:I, s:f, s:f, s:f}", "pages_per_tenant",
					 (json_int_t)a->pages, "pages_sharing_gained",
					 (json_int_t)merged, "merge_wait_s", waited,
					 "median_write_shared_ns", ms, "median_write_own_ns", mo));
	kq_result_set_status(res, KQ_PASS,
			     "a write to a page another tenant also holds takes %.0f ns against "
			     "%.0f ns (x%.1f); one write tells them apart %.0f%% of the time%s",
			     ms, mo, ratio, acc * 100, isob_confidence_note(o));
out:
	free(w);
	free(sh);
	free(own);
}

static void run_ksm(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		    struct kq_result *res)
{
	struct guardian g = {0};
	long run = knob_num("run");
	if (run < 0) {
		kq_result_set_status(res, KQ_SKIP, "no KSM in this kernel (" KSM_DIR "run: %s)",
				     strerror(errno));
		return;
	}
	bool emu = isob_emulated(o);
	double max_wait = kq_test_param_double(t, "max_wait_s", emu ? 40 : 20);
	if (run != 1 || kq_test_param_bool(t, "tune", true)) {
		for (int i = 0; i < NKNOBS; i++)
			if (knob_read(knobs[i], g.saved[i], sizeof(g.saved[i])) < 0) {
				kq_result_set_status(res, KQ_SKIP,
						     "KSM: cannot read " KSM_DIR "%s: %s", knobs[i],
						     strerror(errno));
				return;
			}
		if (guardian_start(&g) < 0) {
			kq_result_set_status(res, KQ_FAIL, "KSM guardian: fork/pipe: %s",
					     strerror(errno));
			return;
		}
		if (knob_write("pages_to_scan", "4000") < 0 ||
		    knob_write("sleep_millisecs", "10") < 0 || knob_write("run", "1") < 0) {
			int e = errno;
			guardian_finish(&g);
			if (run != 1) {
				kq_result_set_status(res, KQ_SKIP,
						     "KSM is off and cannot be turned on here "
						     "(writing " KSM_DIR ": %s; root needed)",
						     strerror(e));
				return;
			}
			/* On already: measure at the host's own scan rate. */
			kq_result_diag(res, "KSM on but not tunable here (%s): its own scan rate",
				       strerror(e));
		} else {
			kq_result_set_evidence(res, "ksm_saved",
					       json_pack("{s:s, s:s, s:s}", knobs[0], g.saved[0],
							 knobs[1], g.saved[1], knobs[2],
							 g.saved[2]));
		}
	}
	struct kq_kvm kvm;
	char err[256];
	struct ksm_tenant *s = kq_iso_shared(2 * sizeof(*s), err, sizeof(err));
	if (kq_kvm_open(&kvm, NULL) < 0 || !s) {
		kq_result_set_status(res, KQ_FAIL, "%s", s ? kq_err() : err);
		guardian_finish(&g);
		kq_iso_shared_free(s, 2 * sizeof(*s));
		return;
	}
	uint64_t pages = (uint64_t)kq_test_param_int(t, "pages", emu ? 128 : 512) & ~1ULL;
	if (pages > KQ_MAX_SAMPLES)
		pages = KQ_MAX_SAMPLES;
	uint64_t seed = isob_host_tsc();
	for (int i = 0; i < 2; i++)
		s[i] =
		    (struct ksm_tenant){.pages = pages,
					.shared_seed = seed,
					.private_seed = seed * 31 + 7 + (uint64_t)i * 0x9e3779b9};
	long before = knob_num("pages_sharing"), merged = 0;
	long scan = knob_num("pages_to_scan"), sleep_ms = knob_num("sleep_millisecs");
	struct isob_child c[2];
	char fail[512] = "";
	double waited = 0;
	for (int i = 0; i < 2; i++) {
		c[i] = (struct isob_child){.kvm = &kvm,
					   .fn = tenant_main,
					   .ctx = &s[i],
					   .limit_s =
					       t->time_limit_s > 0 ? t->time_limit_s * 0.8 : 100};
		if (isob_child_start(&c[i]) < 0 || !isob_wait_flag(&s[i].phase, 1, &s[i].abort, 30))
			snprintf(fail, sizeof(fail), "tenant %c: %s", 'A' + i,
				 s[i].err[0] ? s[i].err : c[i].err);
	}
	/* Bounded wait for ksmd: the shared half of one tenant merges into the other's. */
	double t0 = isob_now_s();
	while (!fail[0] && (waited = isob_now_s() - t0) < max_wait) {
		merged = knob_num("pages_sharing") - before;
		if (merged >= (long)(pages / 2))
			break;
		usleep(20000);
	}
	bool go = !fail[0] && merged >= (long)(pages / 2);
	s[0].go = go ? 1 : 2;
	s[1].go = 2;
	for (int i = 0; i < 2; i++)
		if (c[i].started && isob_child_join(&c[i]) < 0 && !fail[0])
			snprintf(fail, sizeof(fail), "tenant %c: %s", 'A' + i,
				 s[i].err[0] ? s[i].err : c[i].err);
	guardian_finish(&g);
	if (fail[0])
		kq_result_set_status(res, KQ_FAIL, "%s", fail);
	else if (!go)
		kq_result_set_status(res, KQ_SKIP,
				     "ksmd merged %ld of the %llu shared pages within %.0f s "
				     "(pages_to_scan %ld, sleep %ld ms): nothing to measure",
				     merged, (unsigned long long)pages / 2, max_wait, scan,
				     sleep_ms);
	else
		evaluate(res, &s[0], merged, waited, o);
	kq_iso_shared_free(s, 2 * sizeof(*s));
	kq_kvm_close(&kvm);
}

static const struct kq_param_spec ksm_params[] = {
    {"pages", KQ_PT_INT, "pages per tenant, half shared (default 512; 128 emulated)"},
    {"max_wait_s", KQ_PT_DOUBLE, "longest wait for ksmd to merge (default 20; 40 emulated)"},
    {"tune", KQ_PT_BOOL, "scan faster for the test when KSM is already on (restored after)"},
    {NULL, 0, NULL},
};

static const struct kq_driver ksm_drivers[] = {{
    .name = "iso.ksm",
    .summary = "KSM: whether one write's latency reveals a page another tenant also holds",
    .needs_kvm = true,
    .params = ksm_params,
    .run = run_ksm,
}};
KQ_DRIVER_TABLE(ksm_drivers)
