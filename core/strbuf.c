#include "core/strbuf.h"
#include "core/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void kq_buf_free(struct kq_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

void kq_buf_reset(struct kq_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

static bool grow(struct kq_buf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1) {
		if (cap > ((size_t)-1) / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void kq_buf_putn(struct kq_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void kq_buf_puts(struct kq_buf *b, const char *s)
{
	kq_buf_putn(b, s, strlen(s));
}

void kq_buf_putc(struct kq_buf *b, char c)
{
	kq_buf_putn(b, &c, 1);
}

void kq_buf_printf(struct kq_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		kq_buf_putn(b, small, (size_t)n);
		return;
	}
	if (!grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *kq_buf_str(const struct kq_buf *b)
{
	return b->p ? b->p : "";
}

char *kq_buf_take(struct kq_buf *b)
{
	if (b->failed) {
		kq_buf_free(b);
		return NULL;
	}
	char *p = b->p ? b->p : strdup("");
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

void kq_buf_xml(struct kq_buf *b, const char *s)
{
	if (!s)
		return;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '&':
			kq_buf_puts(b, "&amp;");
			break;
		case '<':
			kq_buf_puts(b, "&lt;");
			break;
		case '>':
			kq_buf_puts(b, "&gt;");
			break;
		case '"':
			kq_buf_puts(b, "&quot;");
			break;
		case '\'':
			kq_buf_puts(b, "&#39;");
			break;
		default:
			if ((*c < 0x20 && *c != '\t' && *c != '\n') || *c == 0x7f)
				kq_buf_puts(b, "\xef\xbf\xbd");
			else
				kq_buf_putc(b, (char)*c);
		}
	}
}

void kq_buf_md(struct kq_buf *b, const char *s)
{
	if (!s)
		return;
	for (const char *c = s; *c; c++) {
		if (*c == '|' || *c == '\\' || *c == '`' || *c == '*' || *c == '_' || *c == '<' ||
		    *c == '[' || *c == ']')
			kq_buf_putc(b, '\\');
		if (*c == '\n' || *c == '\r' || *c == '\t')
			kq_buf_putc(b, ' ');
		else
			kq_buf_putc(b, *c);
	}
}

void kq_buf_csv(struct kq_buf *b, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		kq_buf_puts(b, s);
		return;
	}
	kq_buf_putc(b, '"');
	for (const char *c = s; *c; c++) {
		if (*c == '"')
			kq_buf_putc(b, '"');
		kq_buf_putc(b, *c);
	}
	kq_buf_putc(b, '"');
}

void kq_buf_num(struct kq_buf *b, double v)
{
	if (isnan(v)) {
		kq_buf_puts(b, "nan");
		return;
	}
	if (isinf(v)) {
		kq_buf_puts(b, v < 0 ? "-inf" : "inf");
		return;
	}
	char tmp[40];
	for (int prec = 6; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	kq_buf_puts(b, tmp);
}

void kq_buf_human(struct kq_buf *b, double v, int sig)
{
	if (isnan(v) || isinf(v)) {
		kq_buf_num(b, v);
		return;
	}
	double a = fabs(v);
	if (a == 0) {
		kq_buf_putc(b, '0');
		return;
	}
	if (a >= 1e9 || a < 1e-3) {
		kq_buf_printf(b, "%.*e", sig > 1 ? sig - 1 : 0, v);
		return;
	}
	int digits = a >= 1 ? (int)floor(log10(a)) + 1 : 0;
	int dec = sig - digits;
	if (a < 1 && a > 0)
		dec = sig - (int)floor(log10(a)) - 1;
	if (dec < 0)
		dec = 0;
	if (dec > 9)
		dec = 9;
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%.*f", dec, v);
	if (strchr(tmp, '.')) { /* 1.040 -> 1.04, 2.000 -> 2 */
		size_t n = strlen(tmp);
		while (n && tmp[n - 1] == '0')
			tmp[--n] = '\0';
		if (n && tmp[n - 1] == '.')
			tmp[--n] = '\0';
	}
	kq_buf_puts(b, tmp);
}

int kq_buf_save(const struct kq_buf *b, const char *path, char *err, size_t errlen)
{
	if (b->failed) {
		snprintf(err, errlen, "%s: out of memory while building the file", path);
		return -1;
	}
	return kq_outfile_save(path, kq_buf_str(b), b->len, err, errlen);
}
