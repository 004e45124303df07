/* iso.time: the guest only reports its TSC; the host asks for as many SYNCs
 * as it needs (offsets, the rate over a host-timed sleep), then DONE. */
#include "isolation-tests/isob_guest.h"

static void iso_time(struct kq_params *p)
{
	(void)p;
	isob_wait_cmd(0);
	kq_done();
}
KQ_GUEST_WORKLOAD("iso.time", iso_time);
