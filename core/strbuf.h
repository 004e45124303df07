/* A growable text buffer for the report writers (HTML, Markdown, XML, CSV,
 * gnuplot scripts). Allocation failure is sticky: the buffer stops growing,
 * sets `failed`, and writers check it once before saving. */
#ifndef KQ_CORE_STRBUF_H
#define KQ_CORE_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct kq_buf {
	char *p; /* always NUL-terminated once anything was added */
	size_t len, cap;
	bool failed;
};

#define KQ_BUF_INIT                                                                                \
	{                                                                                          \
		0                                                                                  \
	}

void kq_buf_free(struct kq_buf *b);
void kq_buf_reset(struct kq_buf *b);
void kq_buf_putn(struct kq_buf *b, const char *s, size_t n);
void kq_buf_puts(struct kq_buf *b, const char *s);
void kq_buf_putc(struct kq_buf *b, char c);
void kq_buf_printf(struct kq_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents, "" when empty; valid until the next change. */
const char *kq_buf_str(const struct kq_buf *b);
/* Takes the contents out (caller frees); the buffer is left empty. NULL on failure. */
char *kq_buf_take(struct kq_buf *b);

/* Escapes for HTML/XML text and attribute values (& < > " '); control
 * characters other than tab and newline become U+FFFD so XML stays valid. */
void kq_buf_xml(struct kq_buf *b, const char *s);
/* Markdown table cell: escapes | and backslash, newlines become spaces. */
void kq_buf_md(struct kq_buf *b, const char *s);
/* CSV field per RFC 4180: quoted when it holds a comma, quote or line break. */
void kq_buf_csv(struct kq_buf *b, const char *s);
/* A number in the shortest form that reads back the same ("%.17g" at most),
 * "nan"/"inf" spelled out. */
void kq_buf_num(struct kq_buf *b, double v);
/* A number for people: `sig` significant digits, no exponent for everyday
 * magnitudes. */
void kq_buf_human(struct kq_buf *b, double v, int sig);

/* Writes the buffer to PATH whole or not at all (core/outfile.h: a temporary
 * file then rename; a device in place). Returns 0, or -1 with a message
 * naming the file and errno in err. */
int kq_buf_save(const struct kq_buf *b, const char *path, char *err, size_t errlen);

#endif
