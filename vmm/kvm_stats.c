#include "vmm/kvm_stats.h"
#include "vmm/err.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int kq_kvm_stats_open(struct kq_kvm_stats *s, int obj_fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = ioctl(obj_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0) {
		if (errno == ENOTTY || errno == EINVAL)
			return kq_err_unavailable(
			    "KVM binary statistics: not offered by this kernel "
			    "(KVM_CAP_BINARY_STATS_FD)");
		return kq_err_errno("ioctl KVM_GET_STATS_FD");
	}
	struct kvm_stats_header h;
	if (pread(s->fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		kq_err_errno("read KVM stats header");
		goto fail;
	}
	s->ndesc = h.num_desc;
	s->name_size = h.name_size;
	s->data_offset = h.data_offset;
	size_t dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	uint8_t *descs = malloc(dsz * h.num_desc);
	s->names = calloc(h.num_desc, (size_t)h.name_size + 1);
	s->offsets = calloc(h.num_desc, sizeof(*s->offsets));
	if (!descs || !s->names || !s->offsets) {
		free(descs);
		kq_err_set("out of memory for KVM stats descriptors");
		goto fail;
	}
	if (pread(s->fd, descs, dsz * h.num_desc, h.desc_offset) != (ssize_t)(dsz * h.num_desc)) {
		free(descs);
		kq_err_errno("read KVM stats descriptors");
		goto fail;
	}
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsz);
		/* Histograms and multi-value stats are left out: counters only. */
		memcpy(s->names + (size_t)i * (h.name_size + 1), d->name, h.name_size);
		s->offsets[i] = d->size == 1 ? d->offset : UINT32_MAX;
	}
	free(descs);
	return 0;
fail:
	kq_kvm_stats_close(s);
	return -1;
}

void kq_kvm_stats_close(struct kq_kvm_stats *s)
{
	if (s->fd > 0)
		close(s->fd);
	free(s->names);
	free(s->offsets);
	memset(s, 0, sizeof(*s));
}

struct kq_kvm_stat *kq_kvm_stats_read(const struct kq_kvm_stats *s, size_t *n)
{
	struct kq_kvm_stat *st = calloc(s->ndesc ? s->ndesc : 1, sizeof(*st));
	if (!st) {
		kq_err_set("out of memory for KVM stats values");
		return NULL;
	}
	*n = 0;
	for (uint32_t i = 0; i < s->ndesc; i++) {
		uint64_t v;
		if (s->offsets[i] == UINT32_MAX)
			continue;
		if (pread(s->fd, &v, sizeof(v), (off_t)(s->data_offset + s->offsets[i])) !=
		    sizeof(v)) {
			kq_err_errno("read KVM stats data");
			free(st);
			return NULL;
		}
		st[*n].name = s->names + (size_t)i * (s->name_size + 1);
		st[(*n)++].value = v;
	}
	return st;
}
