/* The small records of the migration stream: ITER, STATE, COMPLETE, ACK,
 * ABORT (see proto.h). */
#include "migration-bench/proto.h"

void kq_mig_iter_put(struct kq_bytes *out, const struct kq_mig_iter *it)
{
	kq_bytes_u32(out, it->iter);
	kq_bytes_u32(out, it->final);
	kq_bytes_u64(out, it->pages);
	kq_bytes_u64(out, it->zero_pages);
	kq_bytes_u64(out, it->wire_bytes);
}

int kq_mig_iter_decode(struct kq_rd *r, struct kq_mig_iter *it)
{
	size_t at;
	kq_rd_u32(r, "iter", &it->iter);
	at = r->off;
	if (kq_rd_u32(r, "final", &it->final) == 0 && it->final > 1)
		kq_rd_fail(r, at, "final", "%u is neither 0 nor 1", it->final);
	kq_rd_u64(r, "pages", &it->pages);
	at = r->off;
	if (kq_rd_u64(r, "zero_pages", &it->zero_pages) == 0 && it->zero_pages > it->pages)
		kq_rd_fail(r, at, "zero_pages", "%llu exceeds pages %llu",
			   (unsigned long long)it->zero_pages, (unsigned long long)it->pages);
	kq_rd_u64(r, "wire_bytes", &it->wire_bytes);
	return kq_rd_end(r);
}

void kq_mig_state_put(struct kq_bytes *out, uint32_t kind, uint32_t index, const void *data,
		      uint32_t len)
{
	kq_bytes_u32(out, kind);
	kq_bytes_u32(out, index);
	kq_bytes_u32(out, len);
	kq_bytes_put(out, data, len);
}

int kq_mig_state_decode(struct kq_rd *r, uint32_t vcpus, struct kq_mig_state *s)
{
	size_t at = r->off;
	if (kq_rd_u32(r, "kind", &s->kind) == 0 && s->kind != KQ_MIG_STATE_VM &&
	    s->kind != KQ_MIG_STATE_VCPU)
		return kq_rd_fail(r, at, "kind", "unknown state kind %u", s->kind);
	at = r->off;
	if (kq_rd_u32(r, "index", &s->index) < 0)
		return -1;
	if (s->kind == KQ_MIG_STATE_VCPU && s->index >= vcpus)
		return kq_rd_fail(r, at, "index", "vCPU %u, the VM has %u", s->index, vcpus);
	if (s->kind == KQ_MIG_STATE_VM && s->index != 0)
		return kq_rd_fail(r, at, "index", "%u for the VM record (must be 0)", s->index);
	if (kq_rd_u32(r, "len", &s->len) < 0 || kq_rd_ptr(r, "data", s->len, &s->data) < 0)
		return -1;
	return kq_rd_end(r);
}

void kq_mig_complete_put(struct kq_bytes *out, const struct kq_mig_complete *c)
{
	kq_bytes_u64(out, c->mem_hash);
	kq_bytes_u64(out, c->pause_realtime_ns);
	kq_bytes_u32(out, c->state_records);
	kq_bytes_u32(out, c->iterations);
}

int kq_mig_complete_decode(struct kq_rd *r, struct kq_mig_complete *c)
{
	kq_rd_u64(r, "mem_hash", &c->mem_hash);
	kq_rd_u64(r, "pause_realtime_ns", &c->pause_realtime_ns);
	kq_rd_u32(r, "state_records", &c->state_records);
	kq_rd_u32(r, "iterations", &c->iterations);
	return kq_rd_end(r);
}

void kq_mig_ack_put(struct kq_bytes *out, const struct kq_mig_ack *a)
{
	kq_bytes_u32(out, a->phase);
	kq_bytes_u32(out, (uint32_t)a->status);
	kq_bytes_u64(out, a->value);
	for (int i = 0; i < KQ_MIG_ACK_VALUES; i++)
		kq_bytes_u64(out, a->v[i]);
	kq_bytes_str(out, a->msg);
}

int kq_mig_ack_decode(struct kq_rd *r, struct kq_mig_ack *a)
{
	size_t at = r->off;
	uint32_t st;
	if (kq_rd_u32(r, "phase", &a->phase) == 0 && a->phase != KQ_MIG_ACK_SETUP &&
	    a->phase != KQ_MIG_ACK_RUNNING && a->phase != KQ_MIG_ACK_FINISHED)
		return kq_rd_fail(r, at, "phase", "unknown phase %u", a->phase);
	kq_rd_u32(r, "status", &st);
	a->status = (int32_t)st;
	kq_rd_u64(r, "value", &a->value);
	for (int i = 0; i < KQ_MIG_ACK_VALUES; i++)
		kq_rd_u64(r, "v", &a->v[i]);
	kq_rd_str(r, "msg", a->msg, sizeof(a->msg));
	return kq_rd_end(r);
}

void kq_mig_abort_put(struct kq_bytes *out, const char *msg)
{
	kq_bytes_str(out, msg);
}

int kq_mig_abort_decode(struct kq_rd *r, char *msg, size_t n)
{
	kq_rd_str(r, "msg", msg, n);
	return kq_rd_end(r);
}
