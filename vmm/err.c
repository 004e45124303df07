#include "vmm/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __thread char err_buf[1024];
static __thread int err_unavailable;

int kq_err_unavailable(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	err_unavailable = 1;
	return -1;
}

int kq_err_is_unavailable(void)
{
	return err_unavailable;
}

int kq_err_set(const char *fmt, ...)
{
	va_list ap;
	err_unavailable = 0;
	va_start(ap, fmt);
	vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
	va_end(ap);
	return -1;
}

const char *kq_errno_name(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

int kq_err_errno(const char *fmt, ...)
{
	int e = errno;
	char msg[768];
	va_list ap;
	err_unavailable = 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err_buf, sizeof(err_buf), "%s: %s (%s)", msg, strerror(e), kq_errno_name(e));
	errno = e;
	return -1;
}

const char *kq_err(void)
{
	return err_buf[0] ? err_buf : "no error recorded";
}

long kq_ioctl_named(int fd, unsigned long req, void *arg, const char *name)
{
	long r = ioctl(fd, req, arg);
	if (r < 0)
		kq_err_errno("ioctl %s", name);
	return r;
}
