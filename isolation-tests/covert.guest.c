/* iso.covert: both ends of the LLC channel. The sender writes over an
 * LLC-sized buffer during a 1 slot and idles (PAUSE) during a 0 slot; the
 * receiver chases a probe set larger than its L2 over and over and logs
 * (start TSC, cycles) of each pass. Slots start at the host's T0, converted
 * by the host into this guest's TSC. */
#include "isolation-tests/isob_guest.h"
#include "workloads/memory_kernels.h"

static void send(struct kq_params *p, uint64_t t0, uint64_t slot, uint64_t nbits)
{
	const volatile uint8_t *bits =
	    (const volatile uint8_t *)(uintptr_t)p->args[ISOB_COV_ARG_BITS];
	volatile uint64_t *buf = (volatile uint64_t *)(uintptr_t)p->test_gpa;
	uint64_t lines = p->args[ISOB_COV_ARG_BYTES] / KQ_MEMK_LINE, pos = 0;
	while (kq_rdtsc_begin() < t0)
		kq_pause();
	for (uint64_t i = 0; i < nbits; i++) {
		uint64_t end = t0 + (i + 1) * slot;
		if (!bits[i]) {
			while (kq_rdtsc_begin() < end)
				kq_pause();
			continue;
		}
		/* Look at the clock every 64 lines so the slot ends on time. */
		while (kq_rdtsc_begin() < end)
			for (int k = 0; k < 64; k++) {
				buf[pos * (KQ_MEMK_LINE / 8)] += 1;
				pos = pos + 1 == lines ? 0 : pos + 1;
			}
	}
}

static void receive(struct kq_params *p, uint64_t t0, uint64_t slot, uint64_t nbits)
{
	uint64_t *log = (uint64_t *)(uintptr_t)p->args[ISOB_COV_ARG_LOG];
	uint64_t room = p->args[ISOB_COV_ARG_LOGN], n = 0;
	uint64_t lines = p->args[ISOB_COV_ARG_BYTES] / KQ_MEMK_LINE;
	struct kq_memk k = {.kernel = KQ_MEMK_CHASE, .pos = p->args[ISOB_COV_ARG_CHAIN]};
	uint64_t start = t0 - slot, end = t0 + nbits * slot;
	kq_memk_run(&k, lines); /* warm: the probe set now sits in the caches */
	while (kq_rdtsc_begin() < start)
		kq_pause();
	for (uint64_t now = kq_rdtsc_begin(); now < end && n < room; now = kq_rdtsc_begin()) {
		kq_memk_run(&k, lines);
		log[2 * n] = now;
		log[2 * n + 1] = kq_rdtsc_end() - now;
		n++;
	}
	kq_samples("probe", "cycles", log, 2 * n, 1);
}

static void iso_covert(struct kq_params *p)
{
	if (isob_wait_cmd(0) == ISOB_CMD_GO) {
		uint64_t t0 = isob_reply_arg(ISOB_COV_T0), slot = isob_reply_arg(ISOB_COV_SLOT),
			 nbits = isob_reply_arg(ISOB_COV_NBITS);
		if (p->args[ISOB_COV_ARG_ROLE] == ISOB_ROLE_SENDER)
			send(p, t0, slot, nbits);
		else
			receive(p, t0, slot, nbits);
	}
	kq_done();
}
KQ_GUEST_WORKLOAD("iso.covert", iso_covert);
