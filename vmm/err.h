/* Per-thread error message of the vmm library: functions return -1 (or NULL)
 * and leave a message naming the operation and errno here. */
#ifndef KQ_VMM_ERR_H
#define KQ_VMM_ERR_H

#include <errno.h>
#include <sys/ioctl.h>

/* Sets the message; always returns -1 so callers can `return kq_err_set(...)`. */
int kq_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, with ": strerror(errno) (ERRNAME)" appended for the errno at the call. */
int kq_err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like kq_err_set, and marks the error as a missing capability or resource
 * of the host (a SKIP), not a malfunction (a FAIL). */
int kq_err_unavailable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *kq_err(void);
int kq_err_is_unavailable(void);

/* ioctl that names itself on failure: KQ_IOCTL(fd, KVM_RUN, arg). Retries EINTR
 * only when asked, since KVM_RUN's EINTR is meaningful (watchdog). */
#define KQ_IOCTL(fd, req, arg) kq_ioctl_named((fd), (req), (arg), #req)
long kq_ioctl_named(int fd, unsigned long req, void *arg, const char *name);
const char *kq_errno_name(int e);

#endif
