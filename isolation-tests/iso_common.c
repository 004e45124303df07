#include "isolation-tests/iso_common.h"
#include "vmm/err.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

void *kq_iso_shared(size_t n, char *err, size_t errlen)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "mmap MAP_SHARED %zu bytes: %s", n, strerror(errno));
		return NULL;
	}
	return p;
}

void kq_iso_shared_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

uint64_t kq_iso_random_u64(void)
{
	uint64_t v = 0;
	for (int tries = 0; tries < 16; tries++) {
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
			/* No entropy syscall: the clock still differs run to run. */
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			v = ((uint64_t)ts.tv_nsec << 32 ^ (uint64_t)ts.tv_sec) *
			    0x9e3779b97f4a7c15ULL;
		}
		if (v != 0 && v != ~0ULL)
			return v;
	}
	return 0x5a17c0de5a17c0deULL;
}

bool kq_iso_emulated(const struct kq_run_opts *o)
{
	return o && o->environment && strcmp(o->environment, "emulated") == 0;
}

void *kq_iso_table(struct kq_vm *vm, size_t len)
{
	return kq_vm_gpa_to_hva(vm, KQ_ISO_TABLE_GPA, len);
}

struct kq_vm_config kq_iso_config(const char *workload, double time_limit_s)
{
	struct kq_vm_config c = {
	    .vcpus = 1,
	    .page_size = KQ_PG_2M,
	    .time_limit_s = time_limit_s * 0.9,
	    .workload = workload,
	};
	c.args[0] = KQ_ISO_TABLE_GPA;
	return c;
}

void kq_iso_vmm_error(struct kq_result *res, const char *what)
{
	kq_result_set_status(res, kq_err_is_unavailable() ? KQ_SKIP : KQ_FAIL, "%s: %s", what,
			     kq_err());
}

int kq_iso_mem_with_guards(struct kq_mem *m, uint64_t size, uint64_t tag)
{
	const uint64_t pg = 4096;
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	m->backing = KQ_BACK_ANON;
	m->size = size;
	m->map_size = size + 2 * pg;
	m->map =
	    mmap(NULL, m->map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		return kq_err_errno("mmap %llu bytes for a guarded slot",
				    (unsigned long long)m->map_size);
	}
	m->host = (uint8_t *)m->map + pg;
	if (madvise(m->host, size, MADV_NOHUGEPAGE) < 0) {
		kq_err_errno("madvise MADV_NOHUGEPAGE");
		kq_mem_free(m);
		return -1;
	}
	uint64_t *lo = m->map, *hi = (uint64_t *)(m->host + size);
	for (uint64_t i = 0; i < pg / 8; i++)
		lo[i] = hi[i] = tag;
	return 0;
}
