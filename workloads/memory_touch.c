/* memory.first-touch: the guest writes never-touched memory, one word per
 * 4 KiB page and, where the backing has 2M pages, one per 2 MiB page: ns per
 * page for memory the host never touched (EPT/NPT or shadow fault plus the
 * host fault) and for memory the host prefaulted (MADV_POPULATE_WRITE: the
 * guest-side fault alone). With uffd = yes, the pages come from a host
 * userfaultfd handler instead (UFFDIO_COPY), what post-copy migration pays. */
#include "workloads/memory_abi.h"
#include "workloads/memory_host.h"
#include "workloads/memory_matrix.h"
#include "workloads/vmhost.h"
#include "probes/probe.h"
#include "vmm/err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE_2M	  (2ULL << 20)
#define PER_BATCH 8 /* 4K pages per timed batch (2M pages: one) */

struct region {
	const char *name; /* "4K.fault" */
	uint64_t off, bytes, stride;
	bool prefault;
};

struct touch {
	struct kq_result *res;
	const struct kq_test *t;
	struct region r[KQ_FT_REGIONS];
	int nr, cur;
	struct kq_vm *vm;
	uint64_t khz;
	const char *paging;
	/* userfaultfd */
	int uffd, stop_fd, uffd_stop_wr;
	pthread_t thread;
	bool thread_started;
	uint64_t copies, copy_ns;
	char *src;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int on_ucall(void *ctx, struct kq_vcpu *v, const struct kq_ucall *uc)
{
	struct touch *tc = ctx;
	if (uc->kind == KQ_UC_SYNC) {
		tc->cur = (int)uc->args[0];
		return 0;
	}
	if (uc->kind != KQ_UC_SAMPLES || tc->cur < 0 || tc->cur >= tc->nr ||
	    uc->count > KQ_MAX_SAMPLES) {
		kq_vcpu_fail(v, "unexpected ucall kind %u", uc->kind);
		return -1;
	}
	const uint64_t *tot = kq_vm_gpa_to_hva(tc->vm, uc->data_gpa, uc->count * 8);
	if (!tot || !uc->count || !uc->args[0]) {
		kq_vcpu_fail(v, "bad first-touch samples");
		return -1;
	}
	double *ns = malloc(uc->count * sizeof(*ns));
	if (!ns)
		return -1;
	for (uint64_t i = 0; i < uc->count; i++)
		ns[i] = (double)tot[i] / (double)uc->args[0] * 1e6 / (double)tc->khz;
	const struct region *r = &tc->r[tc->cur];
	char name[64];
	snprintf(name, sizeof(name), "first_touch.%s", r->name);
	json_t *m = kq_result_add_samples(tc->res, name, "ns", ns, uc->count);
	free(ns);
	json_t *l = json_object_get(m, "labels");
	json_object_set_new(l, "page", json_string(r->stride == PAGE_2M ? "2M" : "4K"));
	json_object_set_new(l, "host",
			    json_string(r->prefault	? "prefaulted"
					: tc->uffd >= 0 ? "userfaultfd"
							: "fault"));
	json_object_set_new(l, "backing", json_string(kq_backing_name(tc->t->backing)));
	json_object_set_new(l, "paging", json_string(tc->paging));
	json_object_set_new(l, "batch_size", json_integer((json_int_t)uc->args[0]));
	return 0;
}

static void *uffd_thread(void *arg)
{
	struct touch *tc = arg;
	struct pollfd p[2] = {{.fd = tc->uffd, .events = POLLIN},
			      {.fd = tc->stop_fd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		struct uffd_msg msg;
		ssize_t n = read(tc->uffd, &msg, sizeof(msg));
		if (n != (ssize_t)sizeof(msg) || msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t t0 = now_ns();
		struct uffdio_copy c = {.dst = msg.arg.pagefault.address & ~4095ULL,
					.src = (uintptr_t)tc->src,
					.len = 4096};
		if (ioctl(tc->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
			break;
		tc->copy_ns += now_ns() - t0;
		tc->copies++;
	}
	return NULL;
}

/* userfaultfd on the first region; -1 after setting SKIP or FAIL. */
static int uffd_setup(struct touch *tc, uint8_t *host)
{
	tc->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (tc->uffd < 0) {
		int e = errno;
		kq_result_set_status(tc->res, e == EPERM || e == ENOSYS ? KQ_SKIP : KQ_FAIL,
				     "userfaultfd: %s%s", strerror(e),
				     e == EPERM ? " (vm.unprivileged_userfaultfd = 0 and the "
						  "process lacks CAP_SYS_PTRACE)"
						: "");
		return -1;
	}
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg = {
	    .range = {.start = (uintptr_t)host + tc->r[0].off, .len = tc->r[0].bytes},
	    .mode = UFFDIO_REGISTER_MODE_MISSING};
	if (ioctl(tc->uffd, UFFDIO_API, &api) < 0 || ioctl(tc->uffd, UFFDIO_REGISTER, &reg) < 0) {
		kq_result_set_status(tc->res, KQ_FAIL, "userfaultfd UFFDIO_API/REGISTER: %s",
				     strerror(errno));
		return -1;
	}
	tc->src = aligned_alloc(4096, 4096);
	int fds[2];
	if (!tc->src || pipe(fds) < 0) {
		kq_result_set_status(tc->res, KQ_FAIL, "userfaultfd handler: %s", strerror(errno));
		return -1;
	}
	memset(tc->src, 0x5a, 4096);
	tc->stop_fd = fds[0];
	tc->uffd_stop_wr = fds[1];
	if (pthread_create(&tc->thread, NULL, uffd_thread, tc) != 0) {
		kq_result_set_status(tc->res, KQ_FAIL, "userfaultfd handler thread");
		return -1;
	}
	tc->thread_started = true;
	return 0;
}

static int setup(struct kq_guest_run *g, void *ctx)
{
	struct touch *tc = ctx;
	tc->vm = g->vm;
	tc->khz = g->tsc_khz;
	kq_vm_set_ucall_handler(g->vm, on_ucall, tc);
	uint8_t *host = kq_vm_test_mem(g->vm)->host;
	for (int i = 0; i < tc->nr; i++)
		if (tc->r[i].prefault &&
		    madvise(host + tc->r[i].off, tc->r[i].bytes, MADV_POPULATE_WRITE) < 0) {
			kq_result_set_status(tc->res, KQ_FAIL, "madvise MADV_POPULATE_WRITE: %s",
					     strerror(errno));
			return -1;
		}
	return tc->uffd == -2 ? uffd_setup(tc, host) : 0;
}

static void add_region(struct touch *tc, const char *name, uint64_t pages, uint64_t stride,
		       bool prefault, uint64_t *off)
{
	struct region *r = &tc->r[tc->nr++];
	r->name = name;
	r->off = *off;
	r->bytes = pages * stride;
	r->stride = stride;
	r->prefault = prefault;
	*off += (r->bytes + PAGE_2M - 1) / PAGE_2M * PAGE_2M;
}

static const struct kq_param_spec touch_params[] = {
    {"pages_4k", KQ_PT_INT, "4 KiB pages written per region (default 4096; --quick 512)"},
    {"pages_2m", KQ_PT_INT, "2 MiB pages written per region (default 32; --quick 8)"},
    {"uffd", KQ_PT_BOOL, "pages supplied by a userfaultfd handler (anon, memfd; default no)"},
    {NULL, 0, NULL},
};

static void run_touch(const struct kq_driver *d, const struct kq_test *t,
		      const struct kq_run_opts *o, struct kq_result *res)
{
	struct touch tc = {.res = res, .t = t, .uffd = -1, .stop_fd = -1, .uffd_stop_wr = -1};
	bool emu = kq_memory_emulated(), uffd = kq_test_param_bool(t, "uffd", false);
	uint64_t n4k = (uint64_t)kq_test_param_int(t, "pages_4k", o->quick || emu ? 512 : 4096);
	uint64_t n2m = (uint64_t)kq_test_param_int(t, "pages_2m", o->quick || emu ? 8 : 32);
	bool huge = kq_backing_page_size(t->backing) >= PAGE_2M;
	uint64_t off = 0;
	json_t *paging = kq_probe_paging("");
	tc.paging = json_string_value(json_object_get(paging, "mode"));
	kq_result_set_evidence(res, "paging", paging);
	if (uffd) {
		if (t->backing != KQ_BACK_ANON && t->backing != KQ_BACK_MEMFD) {
			kq_result_set_status(res, KQ_SKIP,
					     "uffd = yes: backing %s is not served page by page "
					     "here (anon and memfd are)",
					     kq_backing_name(t->backing));
			return;
		}
		tc.uffd = -2; /* set up once the VM exists */
		add_region(&tc, "4K.userfaultfd", n4k, 4096, false, &off);
	} else {
		add_region(&tc, "4K.fault", n4k, 4096, false, &off);
		add_region(&tc, "4K.prefaulted", n4k, 4096, true, &off);
		if (huge) {
			add_region(&tc, "2M.fault", n2m, PAGE_2M, false, &off);
			add_region(&tc, "2M.prefaulted", n2m, PAGE_2M, true, &off);
		}
	}
	struct kq_test vt = *t;
	uint64_t align = kq_backing_page_size(t->backing);
	vt.page_size = KQ_PG_2M;
	vt.mem_bytes = (off + align - 1) / align * align;
	struct kq_guest_opts go = {
	    .guest_workload = "memory.first-touch", .setup = setup, .ctx = &tc};
	for (int i = 0; i < tc.nr; i++) {
		go.args[4 * i] = tc.r[i].off;
		go.args[4 * i + 1] = tc.r[i].bytes;
		go.args[4 * i + 2] = tc.r[i].stride;
		go.args[4 * i + 3] = tc.r[i].stride == PAGE_2M ? 1 : PER_BATCH;
	}
	tc.cur = -1;
	if (kq_guest_run(&vt, o, res, &go) < 0 && kq_result_status(res) == KQ_SKIP) {
		struct kq_memory_plan plan = {.slot = vt.mem_bytes};
		json_t *reason = json_object_get(res->obj, "reason");
		char why[512];
		snprintf(why, sizeof(why), "%s%s", reason ? json_string_value(reason) : "",
			 kq_memory_remedy(t, &plan));
		json_object_set_new(res->obj, "reason", json_string(why));
	}
	if (tc.thread_started) {
		if (write(tc.uffd_stop_wr, "x", 1) != 1)
			pthread_cancel(tc.thread);
		pthread_join(tc.thread, NULL);
		if (tc.copies)
			kq_result_add_value(res, "userfaultfd.copy_ns", "ns",
					    (double)tc.copy_ns / (double)tc.copies);
		kq_result_set_evidence(res, "userfaultfd_copies",
				       json_integer((json_int_t)tc.copies));
		if (kq_result_status(res) == KQ_PASS && tc.copies < n4k)
			kq_result_set_status(res, KQ_FAIL, "the handler served %llu of %llu pages",
					     (unsigned long long)tc.copies,
					     (unsigned long long)n4k);
	}
	if (tc.uffd >= 0)
		close(tc.uffd);
	if (tc.stop_fd >= 0)
		close(tc.stop_fd);
	if (tc.uffd_stop_wr >= 0)
		close(tc.uffd_stop_wr);
	free(tc.src);
}

static const struct kq_driver memory_first_touch = {
    .name = "memory.first-touch",
    .summary = "guest writes to never-touched memory: ns per 4K and 2M page, host-faulted, "
	       "prefaulted or from userfaultfd",
    .needs_kvm = true,
    .params = touch_params,
    .run = run_touch,
};
KQ_DRIVER(memory_first_touch)
