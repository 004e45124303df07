/* The guest runtime's API for workloads: ucalls, timing, printing, asserts,
 * adaptive measurement and workload registration. Freestanding: no libc. */
#ifndef KQ_GUEST_GUEST_H
#define KQ_GUEST_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "guest/abi.h"

/* This vCPU's parameter page (set at entry). */
extern struct kq_params *kq_self_params(void);

/* --- ucall channel ------------------------------------------------------ */
void kq_ucall(struct kq_ucall *uc);
void kq_sync(uint64_t stage);
void kq_result_u64(const char *name, const char *unit, uint64_t v);
void kq_samples(const char *name, const char *unit, const uint64_t *v, uint64_t n,
		uint64_t divisor);
void kq_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kq_done(void) __attribute__((noreturn));
void kq_assert_fail(const char *file, int line, const char *expr) __attribute__((noreturn));

#define KQ_GUEST_ASSERT(e)                                                                         \
	do {                                                                                       \
		if (!(e))                                                                          \
			kq_assert_fail(__FILE__, __LINE__, #e);                                    \
	} while (0)

/* --- formatting (subset: %d %i %u %x %lx %llx %ld %lu %llu %s %c %p %%) -- */
int kq_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int kq_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
size_t kq_strlen(const char *s);
int kq_strcmp(const char *a, const char *b);
void kq_strlcpy(char *dst, const char *src, size_t n);
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

/* --- timing: serialised TSC reads --------------------------------------- */
static inline uint64_t kq_rdtsc_begin(void)
{
	uint32_t lo, hi;
	/* lfence orders rdtsc after everything before it (dispatch-serialising
	 * on Intel, and on AMD with the LFENCE-serialising MSR bit Linux sets). */
	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}
/* Set at boot from CPUID 0x80000001 EDX bit 27: not every host offers RDTSCP. */
extern int kq_have_rdtscp;
static inline uint64_t kq_rdtsc_end(void)
{
	uint32_t lo, hi, aux;
	if (!kq_have_rdtscp)
		return kq_rdtsc_begin();
	/* rdtscp waits for earlier instructions; lfence keeps later ones after it. */
	__asm__ volatile("rdtscp; lfence" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
	return ((uint64_t)hi << 32) | lo;
}
static inline void kq_outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port) : "memory");
}
static inline void kq_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port) : "memory");
}
static inline void kq_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub)
			 : "memory");
}
static inline void kq_pause(void)
{
	__asm__ volatile("pause");
}

/* --- adaptive measurement ----------------------------------------------- */
/* Runs op(ctx, iters) and times it: warm-up, then doubles the batch size until
 * a batch takes at least goal/32, then records batches until the time goal is
 * spent (at least 8, at most KQ_MAX_SAMPLES). Sends the batch totals as a
 * SAMPLES ucall named `name` with the batch size as divisor. */
typedef void (*kq_measured_fn)(void *ctx, uint64_t iters);
void kq_measure(const char *name, kq_measured_fn op, void *ctx);

/* --- workloads ---------------------------------------------------------- */
struct kq_guest_workload {
	const char *name;
	void (*run)(struct kq_params *p);
};
#define KQ_GUEST_WORKLOAD(wname, fn)                                                               \
	static const struct kq_guest_workload kq_wl_##fn                                           \
	    __attribute__((used, section("kq_workloads"), aligned(8))) = {wname, fn}

/* Exception hook: a workload that expects a vector installs a handler; it
 * returns 1 when it handled the exception (execution resumes at frame->rip). */
struct kq_isr_frame {
	uint64_t r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax, rbx;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef int (*kq_isr_handler)(struct kq_isr_frame *f);
void kq_set_isr_handler(unsigned vector, kq_isr_handler h);

/* The step-script interpreter (guest/steps.c). */
void kq_run_steps(struct kq_params *p);

#endif
