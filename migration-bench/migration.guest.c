/* Guest side of the migration workloads: vCPU 0 idles, dirties pages at a
 * set rate and pattern, or keeps verifiable per-page counters; vCPU 1 is the
 * heartbeat that records, by the TSC, the largest gap in its own progress
 * (what the guest saw of the migration's downtime). All stop when the host
 * sets ctl->stop, then report. */
#include "guest/guest.h"
#include "migration-bench/guest_abi.h"

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static volatile uint64_t *page_at(struct kq_params *p, uint64_t i)
{
	return (volatile uint64_t *)(uintptr_t)(p->test_gpa + (i + 1) * 4096);
}

/* Pacing: page n may be written once the TSC passes t0 + n * cycles. */
struct pacer {
	uint64_t t0, cycles_per_page;
};

static void pace(const struct pacer *pc, uint64_t n, struct kq_mig_ctl *ctl)
{
	if (!pc->cycles_per_page)
		return;
	while (kq_rdtsc_begin() - pc->t0 < n * pc->cycles_per_page && !ctl->stop)
		kq_pause();
}

static void dirtier(struct kq_params *p, struct kq_mig_ctl *ctl, const struct pacer *pc,
		    uint64_t pages)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL, n = 0, hot = p->args[KQ_MIG_ARG_HOT];
	if (!hot || hot > pages)
		hot = pages;
	while (!ctl->stop) {
		uint64_t i;
		switch (p->args[KQ_MIG_ARG_PATTERN]) {
		case KQ_MIG_RANDOM:
			i = xorshift(&seed) % pages;
			break;
		case KQ_MIG_HOTSET:
			i = xorshift(&seed) % hot;
			break;
		default:
			i = n % pages;
		}
		page_at(p, i)[(n * 8) % 512] = n;
		ctl->writes = ++n;
		pace(pc, n, ctl);
	}
	kq_result_u64("dirtier.writes", "pages", n);
}

/* Pass k writes every page in order: counter k+1 and the pattern. Before the
 * write the page must hold pass k's values, so a lost write (a page that
 * travelled stale), a duplicated one or a torn page is caught at once;
 * at the end every page must be at pass+1 before pos and pass from pos on. */
static void verifier(struct kq_params *p, struct kq_mig_ctl *ctl, const struct pacer *pc,
		     uint64_t pages)
{
	uint64_t pass = 0, pos = 0, n = 0, errors = 0, first_bad = ~0ULL;
	while (!ctl->stop) {
		volatile uint64_t *pg = page_at(p, pos);
		uint64_t c = pg[0];
		if (c != pass ||
		    (c && (pg[1] != kq_mig_pattern(pos, c) || pg[511] != kq_mig_pattern(pos, c)))) {
			if (!errors++)
				first_bad = pos;
		}
		pg[0] = pass + 1;
		pg[1] = kq_mig_pattern(pos, pass + 1);
		pg[511] = kq_mig_pattern(pos, pass + 1);
		ctl->writes = ++n;
		if (++pos == pages) {
			pos = 0;
			pass++;
		}
		pace(pc, n, ctl);
	}
	for (uint64_t i = 0; i < pages; i++) {
		volatile uint64_t *pg = page_at(p, i);
		uint64_t want = pass + (i < pos);
		if (pg[0] != want || (want && (pg[1] != kq_mig_pattern(i, want) ||
					       pg[511] != kq_mig_pattern(i, want)))) {
			if (!errors++)
				first_bad = i;
		}
	}
	kq_result_u64("verifier.writes", "pages", n);
	kq_result_u64("verifier.passes", "count", pass);
	kq_result_u64("verifier.errors", "count", errors);
	if (errors)
		kq_printf("verifier: %llu pages lost or duplicated a write, first page %llu",
			  (unsigned long long)errors, (unsigned long long)first_bad);
}

static void heartbeat(struct kq_mig_ctl *ctl)
{
	uint64_t last = kq_rdtsc_begin(), max_gap = 0, beats = 0;
	while (!ctl->stop) {
		uint64_t t = kq_rdtsc_begin();
		if (t - last > max_gap)
			max_gap = t - last;
		last = t;
		ctl->beats = ++beats;
	}
	kq_result_u64("heartbeat.max_gap", "cycles", max_gap);
	kq_result_u64("heartbeat.beats", "count", beats);
}

static void migration_workload(struct kq_params *p)
{
	struct kq_mig_ctl *ctl = (struct kq_mig_ctl *)(uintptr_t)p->test_gpa;
	uint64_t pages = p->args[KQ_MIG_ARG_PAGES];
	KQ_GUEST_ASSERT(p->test_size >= 2 * 4096);
	if (!pages || pages > p->test_size / 4096 - 1)
		pages = p->test_size / 4096 - 1;
	__atomic_add_fetch(&ctl->started, 1, __ATOMIC_SEQ_CST);
	if (p->vcpu == 1) {
		heartbeat(ctl);
		return;
	}
	if (p->vcpu > 1)
		return;
	struct pacer pc = {.t0 = kq_rdtsc_begin()};
	uint64_t rate = p->args[KQ_MIG_ARG_RATE];
	if (rate)
		pc.cycles_per_page = p->tsc_khz * 1000 / rate;
	switch (p->args[KQ_MIG_ARG_MODE]) {
	case KQ_MIG_DIRTY:
		dirtier(p, ctl, &pc, pages);
		break;
	case KQ_MIG_VERIFY:
		verifier(p, ctl, &pc, pages);
		break;
	default:
		while (!ctl->stop)
			kq_pause();
	}
}
KQ_GUEST_WORKLOAD(KQ_MIG_WORKLOAD, migration_workload);
