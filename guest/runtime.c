/* Guest runtime: entry, ucall channel, exceptions, asserts. */
#include "guest/guest.h"

extern const struct kq_guest_workload __start_kq_workloads[], __stop_kq_workloads[];

static kq_isr_handler isr_handlers[256];
int kq_have_rdtscp;

struct kq_params *kq_self_params(void)
{
	struct kq_params *p;
	/* GS base is this vCPU's parameter page; its first field points to itself. */
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

void kq_ucall(struct kq_ucall *uc)
{
	uc->vcpu = kq_self_params()->vcpu;
	kq_outl(KQ_UCALL_PORT, (uint32_t)(uintptr_t)uc);
}

static struct kq_ucall *msg(uint32_t kind)
{
	struct kq_ucall *uc = &kq_self_params()->ucall;
	memset(uc, 0, sizeof(*uc));
	uc->kind = kind;
	return uc;
}

void kq_sync(uint64_t stage)
{
	struct kq_ucall *uc = msg(KQ_UC_SYNC);
	uc->args[0] = stage;
	kq_ucall(uc);
}

void kq_result_u64(const char *name, const char *unit, uint64_t v)
{
	struct kq_ucall *uc = msg(KQ_UC_RESULT);
	kq_strlcpy(uc->name, name, sizeof(uc->name));
	kq_strlcpy(uc->unit, unit, sizeof(uc->unit));
	uc->args[0] = v;
	kq_ucall(uc);
}

void kq_samples(const char *name, const char *unit, const uint64_t *v, uint64_t n, uint64_t divisor)
{
	struct kq_ucall *uc = msg(KQ_UC_SAMPLES);
	kq_strlcpy(uc->name, name, sizeof(uc->name));
	kq_strlcpy(uc->unit, unit, sizeof(uc->unit));
	uc->data_gpa = (uint64_t)(uintptr_t)v;
	uc->count = n;
	uc->args[0] = divisor;
	kq_ucall(uc);
}

void kq_printf(const char *fmt, ...)
{
	struct kq_ucall *uc = msg(KQ_UC_PRINT);
	va_list ap;
	va_start(ap, fmt);
	kq_vsnprintf(uc->text, sizeof(uc->text), fmt, ap);
	va_end(ap);
	kq_ucall(uc);
}

static void __attribute__((noreturn)) halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void kq_done(void)
{
	kq_ucall(msg(KQ_UC_DONE));
	/* The host stops this vCPU at DONE; never return into a finished workload. */
	halt_forever();
}

void kq_assert_fail(const char *file, int line, const char *expr)
{
	struct kq_ucall *uc = msg(KQ_UC_ASSERT);
	kq_snprintf(uc->text, sizeof(uc->text), "%s:%d: %s", file, line, expr);
	kq_ucall(uc);
	halt_forever();
}

void kq_set_isr_handler(unsigned vector, kq_isr_handler h)
{
	if (vector < 256)
		isr_handlers[vector] = h;
}

void kq_isr_dispatch(struct kq_isr_frame *f);
void kq_isr_dispatch(struct kq_isr_frame *f)
{
	kq_isr_handler h = isr_handlers[f->vector & 255];
	if (h && h(f))
		return;
	uint64_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	struct kq_ucall *uc = msg(KQ_UC_EXCEPTION);
	uc->args[0] = f->vector;
	uc->args[1] = f->rip;
	uc->args[2] = f->error_code;
	uc->args[3] = cr2;
	kq_ucall(uc);
	halt_forever();
}

void kq_guest_main(struct kq_params *p);
void kq_guest_main(struct kq_params *p)
{
	struct kq_ucall *boot = &p->ucall;
	uint64_t t = kq_rdtsc_begin();
	memset(boot, 0, sizeof(*boot));
	boot->kind = KQ_UC_BOOT;
	boot->vcpu = p->vcpu;
	boot->args[0] = t;
	kq_outl(KQ_UCALL_PORT, (uint32_t)(uintptr_t)boot);

	KQ_GUEST_ASSERT(p->abi_version == KQ_ABI_VERSION);
	uint32_t r[4];
	kq_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		kq_cpuid(0x80000001, 0, r);
		kq_have_rdtscp = (r[3] >> 27) & 1;
	}
	if (p->nsteps) {
		kq_run_steps(p);
		kq_done();
	}
	for (const struct kq_guest_workload *w = __start_kq_workloads; w < __stop_kq_workloads;
	     w++) {
		if (kq_strcmp(w->name, p->workload) == 0) {
			w->run(p);
			kq_done();
		}
	}
	kq_printf("no guest workload named '%s'", p->workload);
	kq_assert_fail(__FILE__, __LINE__, "workload exists");
}
