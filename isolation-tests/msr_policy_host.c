#include "isolation-tests/msr_policy_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool kq_msr_host_private(uint32_t index)
{
	switch (index) {
	case 0x174:	 /* IA32_SYSENTER_CS */
	case 0x175:	 /* IA32_SYSENTER_ESP: the host's per-CPU entry stack */
	case 0x176:	 /* IA32_SYSENTER_EIP: a host kernel address */
	case 0xc0000081: /* STAR */
	case 0xc0000082: /* LSTAR: the host kernel's SYSCALL entry */
	case 0xc0000083: /* CSTAR */
	case 0xc0000084: /* SFMASK */
	case 0xc0000100: /* FS_BASE */
	case 0xc0000101: /* GS_BASE: the host's per-CPU area */
	case 0xc0000102: /* KERNEL_GS_BASE */
	case 0xc0000103: /* TSC_AUX: the host CPU number */
		return true;
	default:
		return false;
	}
}

int kq_msr_host_leak(uint32_t index, uint64_t guest, const uint64_t *host, const bool *host_ok,
		     int ncpus)
{
	if (!guest || !kq_msr_host_private(index))
		return -1;
	for (int c = 0; c < ncpus; c++)
		if (host_ok[c] && host[c] == guest)
			return c;
	return -1;
}

int kq_host_msrs_open(struct kq_host_msrs *h, char *why, size_t len)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	h->ncpus = 0;
	h->fds = calloc(n > 0 ? (size_t)n : 1, sizeof(int));
	if (!h->fds) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	for (long c = 0; c < n; c++) {
		char path[64];
		snprintf(path, sizeof(path), "/dev/cpu/%ld/msr", c);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && c > 0)
			continue; /* an offline CPU */
		if (fd < 0) {
			snprintf(why, len,
				 "%s: %s (the msr module and root are needed: modprobe msr)", path,
				 strerror(errno));
			kq_host_msrs_close(h);
			return -1;
		}
		h->fds[h->ncpus++] = fd;
	}
	return 0;
}

int kq_host_msr_read(const struct kq_host_msrs *h, int c, uint32_t index, uint64_t *v)
{
	return pread(h->fds[c], v, 8, (off_t)index) == 8 ? 0 : -1;
}

void kq_host_msrs_close(struct kq_host_msrs *h)
{
	for (int c = 0; c < h->ncpus; c++)
		close(h->fds[c]);
	free(h->fds);
	h->fds = NULL;
	h->ncpus = 0;
}
