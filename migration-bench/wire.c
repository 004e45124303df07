/* Byte writer and bounds-checked reader (see wire.h). */
#include "migration-bench/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kq_bytes_free(struct kq_bytes *b)
{
	free(b->p);
	*b = (struct kq_bytes){0};
}

void kq_bytes_reset(struct kq_bytes *b)
{
	b->len = 0;
	b->failed = false;
}

uint8_t *kq_bytes_reserve(struct kq_bytes *b, size_t n)
{
	if (b->failed)
		return NULL;
	if (n > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	return b->p + b->len;
}

void kq_bytes_put(struct kq_bytes *b, const void *src, size_t n)
{
	uint8_t *w = kq_bytes_reserve(b, n);
	if (!w)
		return;
	if (n)
		memcpy(w, src, n);
	b->len += n;
}

static void put_le(struct kq_bytes *b, uint64_t v, int n)
{
	uint8_t t[8];
	for (int i = 0; i < n; i++)
		t[i] = (uint8_t)(v >> (8 * i));
	kq_bytes_put(b, t, (size_t)n);
}

void kq_bytes_u8(struct kq_bytes *b, uint8_t v)
{
	put_le(b, v, 1);
}
void kq_bytes_u16(struct kq_bytes *b, uint16_t v)
{
	put_le(b, v, 2);
}
void kq_bytes_u32(struct kq_bytes *b, uint32_t v)
{
	put_le(b, v, 4);
}
void kq_bytes_u64(struct kq_bytes *b, uint64_t v)
{
	put_le(b, v, 8);
}

void kq_bytes_str(struct kq_bytes *b, const char *s)
{
	size_t n = strlen(s);
	if (n > 0xffff) {
		b->failed = true;
		return;
	}
	kq_bytes_u16(b, (uint16_t)n);
	kq_bytes_put(b, s, n);
}

void kq_rd_init(struct kq_rd *r, const void *p, size_t len, uint64_t base, const char *frame,
		char *err, size_t errlen)
{
	*r = (struct kq_rd){
	    .p = p, .len = len, .base = base, .frame = frame, .err = err, .errlen = errlen};
}

int kq_rd_fail(struct kq_rd *r, size_t at, const char *field, const char *fmt, ...)
{
	if (!r->failed && r->err && r->errlen) {
		int n = snprintf(r->err, r->errlen, "%s byte %llu: field %s: ", r->frame,
				 (unsigned long long)(r->base + at), field);
		if (n >= 0 && (size_t)n < r->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	r->failed = true;
	return -1;
}

static int need(struct kq_rd *r, const char *field, size_t n)
{
	if (r->failed)
		return -1;
	if (n > r->len - r->off)
		return kq_rd_fail(r, r->off, field, "needs %zu bytes, the payload has %zu left", n,
				  r->len - r->off);
	return 0;
}

static uint64_t get_le(struct kq_rd *r, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
	r->off += (size_t)n;
	return v;
}

int kq_rd_u8(struct kq_rd *r, const char *field, uint8_t *v)
{
	if (need(r, field, 1) < 0)
		return -1;
	*v = (uint8_t)get_le(r, 1);
	return 0;
}
int kq_rd_u16(struct kq_rd *r, const char *field, uint16_t *v)
{
	if (need(r, field, 2) < 0)
		return -1;
	*v = (uint16_t)get_le(r, 2);
	return 0;
}
int kq_rd_u32(struct kq_rd *r, const char *field, uint32_t *v)
{
	if (need(r, field, 4) < 0)
		return -1;
	*v = (uint32_t)get_le(r, 4);
	return 0;
}
int kq_rd_u64(struct kq_rd *r, const char *field, uint64_t *v)
{
	if (need(r, field, 8) < 0)
		return -1;
	*v = get_le(r, 8);
	return 0;
}

int kq_rd_ptr(struct kq_rd *r, const char *field, size_t n, const uint8_t **v)
{
	if (need(r, field, n) < 0)
		return -1;
	*v = r->p + r->off;
	r->off += n;
	return 0;
}

int kq_rd_str(struct kq_rd *r, const char *field, char *dst, size_t n)
{
	size_t at = r->off;
	uint16_t len;
	const uint8_t *s;
	if (kq_rd_u16(r, field, &len) < 0)
		return -1;
	if ((size_t)len >= n)
		return kq_rd_fail(r, at, field, "length %u exceeds the limit of %zu", len, n - 1);
	if (kq_rd_ptr(r, field, len, &s) < 0)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return kq_rd_fail(r, at + 2 + i, field, "control character 0x%02x", s[i]);
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int kq_rd_end(struct kq_rd *r)
{
	if (r->failed)
		return -1;
	if (r->off != r->len)
		return kq_rd_fail(r, r->off, "(end)", "%zu trailing bytes after the last field",
				  r->len - r->off);
	return 0;
}
