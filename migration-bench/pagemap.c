/* Pages of a private anonymous mapping that were never populated: neither
 * present nor swapped out, so they read as zeroes. The stream flags them as
 * zero pages without reading them: a read would fault each page in, which
 * costs more than sending it on a nested host. */
#include "migration-bench/pagemap.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

int kq_mig_pagemap_open(void)
{
	return open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
}

/* Pages mincore() reports resident: cheap (no page flags looked up), and a
 * resident page is never absent, so pagemap is read only where some page
 * is not resident. */
static bool all_resident(const void *mem, uint32_t npages, unsigned char *vec)
{
	if (mincore((void *)(uintptr_t)mem, (size_t)npages * 4096, vec) < 0)
		return false;
	for (uint32_t i = 0; i < npages; i++)
		if (!(vec[i] & 1))
			return false;
	return true;
}

int kq_mig_absent(int fd, const void *mem, uint32_t npages, uint8_t *bits)
{
	uint64_t ent[256];
	unsigned char vec[256];
	uintptr_t va = (uintptr_t)mem;
	if (fd < 0 || va % 4096 || npages > 256)
		return -1;
	memset(bits, 0, (npages + 7) / 8);
	if (all_resident(mem, npages, vec))
		return 0;
	size_t len = (size_t)npages * sizeof(ent[0]);
	ssize_t r = pread(fd, ent, len, (off_t)(va / 4096 * sizeof(ent[0])));
	if (r != (ssize_t)len)
		return -1;
	for (uint32_t i = 0; i < npages; i++)
		if (!(ent[i] & (PM_PRESENT | PM_SWAPPED)))
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Cleared when the kernel has no MADV_POPULATE_WRITE (before 5.14): the
 * writes then fault the pages in one by one. */
static atomic_bool populate_works = true;

void kq_mig_populate(uint8_t *mem, uint32_t npages)
{
	unsigned char vec[256];
	if ((uintptr_t)mem % 4096 || npages > 256 || !atomic_load(&populate_works))
		return;
	if (mincore(mem, (size_t)npages * 4096, vec) < 0)
		memset(vec, 0, npages);
	for (uint32_t i = 0; i < npages;) {
		uint32_t j = i; /* a stretch of pages not mapped yet */
		while (j < npages && !(vec[j] & 1))
			j++;
		if (j > i &&
		    madvise(mem + (size_t)i * 4096, (size_t)(j - i) * 4096, MADV_POPULATE_WRITE) <
			0 &&
		    errno == EINVAL)
			atomic_store(&populate_works, false);
		i = j + 1;
	}
}
