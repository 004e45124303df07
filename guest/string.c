/* The few string helpers and a small formatter for the freestanding guest. */
#include "guest/guest.h"

void *memset(void *s, int c, size_t n)
{
	unsigned char *p = s;
	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	while (n--)
		*dp++ = *sp++;
	return d;
}

size_t kq_strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int kq_strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (unsigned char)*a - (unsigned char)*b;
}

void kq_strlcpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	if (!n)
		return;
	for (; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

struct out {
	char *buf;
	size_t n, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->n)
		o->buf[o->len] = c;
	o->len++;
}

static void put_u(struct out *o, unsigned long long v, unsigned base, int width, char padc)
{
	char tmp[24];
	int i = 0;
	do {
		tmp[i++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (width-- > i)
		put(o, padc);
	while (i)
		put(o, tmp[--i]);
}

int kq_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct out o = {buf, n, 0};
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		char padc = ' ';
		int width = 0, longs = 0;
		if (*fmt == '0')
			padc = '0', fmt++;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l')
			longs++, fmt++;
		switch (*fmt) {
		case 'd':
		case 'i': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			if (v < 0)
				put(&o, '-'), v = -v;
			put_u(&o, (unsigned long long)v, 10, width, padc);
			break;
		}
		case 'u':
		case 'x': {
			unsigned long long v =
			    longs ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_u(&o, v, *fmt == 'x' ? 16 : 10, width, padc);
			break;
		}
		case 'p':
			put(&o, '0'), put(&o, 'x');
			put_u(&o, (uintptr_t)va_arg(ap, void *), 16, width, padc);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			for (s = s ? s : "(null)"; *s; s++)
				put(&o, *s);
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		default:
			put(&o, '?');
			if (!*fmt)
				fmt--;
		}
	}
	if (n)
		buf[o.len < n ? o.len : n - 1] = 0;
	return (int)o.len;
}

int kq_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = kq_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return r;
}
