/* Little-endian byte writer and a bounds-checked reader for the migration
 * stream. The reader never trusts a length from the wire: every get checks
 * what is left, and a failure names the frame, the field and the absolute
 * byte offset in the stream. */
#ifndef KQ_MIG_WIRE_H
#define KQ_MIG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Growable bytes; allocation failure is sticky (`failed`), checked once. */
struct kq_bytes {
	uint8_t *p;
	size_t len, cap;
	bool failed;
};

void kq_bytes_free(struct kq_bytes *b);
void kq_bytes_reset(struct kq_bytes *b);
/* Room for n more bytes; returns the write position or NULL (failed set). */
uint8_t *kq_bytes_reserve(struct kq_bytes *b, size_t n);
void kq_bytes_put(struct kq_bytes *b, const void *src, size_t n);
void kq_bytes_u8(struct kq_bytes *b, uint8_t v);
void kq_bytes_u16(struct kq_bytes *b, uint16_t v);
void kq_bytes_u32(struct kq_bytes *b, uint32_t v);
void kq_bytes_u64(struct kq_bytes *b, uint64_t v);
/* A string as u16 length + bytes (no NUL), at most 65535 bytes. */
void kq_bytes_str(struct kq_bytes *b, const char *s);

/* Reader over one frame's payload. */
struct kq_rd {
	const uint8_t *p;
	size_t len, off;
	uint64_t base;	   /* stream offset of p[0] */
	const char *frame; /* "frame 3 (PAGES)" for messages */
	char *err;
	size_t errlen;
	bool failed;
};

void kq_rd_init(struct kq_rd *r, const void *p, size_t len, uint64_t base, const char *frame,
		char *err, size_t errlen);
/* Each returns 0, or -1 with "FRAME byte OFFSET: field FIELD: ..." in err. */
int kq_rd_u8(struct kq_rd *r, const char *field, uint8_t *v);
int kq_rd_u16(struct kq_rd *r, const char *field, uint16_t *v);
int kq_rd_u32(struct kq_rd *r, const char *field, uint32_t *v);
int kq_rd_u64(struct kq_rd *r, const char *field, uint64_t *v);
/* n bytes in place (a pointer into the payload). */
int kq_rd_ptr(struct kq_rd *r, const char *field, size_t n, const uint8_t **v);
/* A u16-length string into dst (size n, NUL-terminated); longer than n-1 or
 * holding a NUL or a control character is an error. */
int kq_rd_str(struct kq_rd *r, const char *field, char *dst, size_t n);
/* An error at the current offset about a value already read: `at` is the
 * offset the field started at (r->off before reading it). */
int kq_rd_fail(struct kq_rd *r, size_t at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Fails unless the whole payload was consumed. */
int kq_rd_end(struct kq_rd *r);

#endif
