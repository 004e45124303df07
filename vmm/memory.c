#include "vmm/memory.h"
#include "vmm/err.h"

#include <linux/mman.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *const backing_names[] = {"anon", "thp", "hugetlb-2m", "hugetlb-1g", "memfd"};

const char *kq_backing_name(enum kq_backing b)
{
	return backing_names[b];
}

int kq_backing_parse(const char *s)
{
	for (unsigned i = 0; i < sizeof(backing_names) / sizeof(backing_names[0]); i++)
		if (strcmp(s, backing_names[i]) == 0)
			return (int)i;
	return -1;
}

uint64_t kq_backing_page_size(enum kq_backing b)
{
	switch (b) {
	case KQ_BACK_THP:
	case KQ_BACK_HUGETLB_2M:
		return 2ULL << 20;
	case KQ_BACK_HUGETLB_1G:
		return 1ULL << 30;
	default:
		return 4096;
	}
}

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int alloc_hugetlb(struct kq_mem *m, int huge_flag, const char *what)
{
	m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | huge_flag | MAP_NORESERVE, -1, 0);
	if (m->map == MAP_FAILED) {
		m->map = NULL;
		if (errno == ENOMEM || errno == EINVAL)
			return kq_err_unavailable("no %s hugepages available for %llu MiB "
						  "(mmap MAP_HUGETLB: %s); reserve them in "
						  "/sys/kernel/mm/hugepages",
						  what, (unsigned long long)(m->size >> 20),
						  strerror(errno));
		return kq_err_errno("mmap %s hugetlb %llu bytes", what,
				    (unsigned long long)m->size);
	}
	/* MAP_NORESERVE defers the failure to the first touch: populate now so a
	 * short pool is a clean SKIP rather than a SIGBUS in the guest. */
	if (madvise(m->map, m->size, MADV_POPULATE_WRITE) < 0) {
		int e = errno;
		munmap(m->map, m->size);
		m->map = NULL;
		errno = e;
		if (e == ENOMEM || e == EFAULT)
			return kq_err_unavailable("%s hugepage pool too small for %llu MiB", what,
						  (unsigned long long)(m->size >> 20));
		return kq_err_errno("madvise MADV_POPULATE_WRITE (%s hugetlb)", what);
	}
	m->host = m->map;
	m->map_size = m->size;
	return 0;
}

int kq_mem_alloc(struct kq_mem *m, uint64_t size, enum kq_backing backing)
{
	memset(m, 0, sizeof(*m));
	m->memfd = -1;
	m->backing = backing;
	m->size = round_up(size, kq_backing_page_size(backing));
	switch (backing) {
	case KQ_BACK_HUGETLB_2M:
		return alloc_hugetlb(m, MAP_HUGE_2MB, "2M");
	case KQ_BACK_HUGETLB_1G:
		return alloc_hugetlb(m, MAP_HUGE_1GB, "1G");
	case KQ_BACK_MEMFD:
		m->memfd = memfd_create("kvmqual-guest", MFD_CLOEXEC);
		if (m->memfd < 0)
			return kq_err_errno("memfd_create");
		if (ftruncate(m->memfd, (off_t)m->size) < 0) {
			kq_err_errno("ftruncate memfd to %llu", (unsigned long long)m->size);
			goto fail;
		}
		m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->memfd, 0);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			kq_err_errno("mmap memfd %llu bytes", (unsigned long long)m->size);
			goto fail;
		}
		m->host = m->map;
		m->map_size = m->size;
		return 0;
	case KQ_BACK_ANON:
	case KQ_BACK_THP: {
		/* Over-allocate so the start is 2M-aligned: THP then backs whole
		 * guest 2M pages, and the THP-off case differs only by the advice. */
		uint64_t align = 2ULL << 20;
		m->map_size = m->size + align;
		m->map = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (m->map == MAP_FAILED) {
			m->map = NULL;
			return kq_err_errno("mmap anonymous %llu bytes",
					    (unsigned long long)m->map_size);
		}
		m->host = (uint8_t *)round_up((uintptr_t)m->map, align);
		int advice = backing == KQ_BACK_THP ? MADV_HUGEPAGE : MADV_NOHUGEPAGE;
		if (madvise(m->host, m->size, advice) < 0) {
			kq_err_errno("madvise %s",
				     backing == KQ_BACK_THP ? "MADV_HUGEPAGE" : "MADV_NOHUGEPAGE");
			goto fail;
		}
		return 0;
	}
	}
	return kq_err_set("unknown memory backing %d", (int)backing);
fail:
	kq_mem_free(m);
	return -1;
}

void kq_mem_free(struct kq_mem *m)
{
	if (m->map)
		munmap(m->map, m->map_size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->map = NULL;
	m->host = NULL;
	m->memfd = -1;
}
