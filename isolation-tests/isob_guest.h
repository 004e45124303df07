/* Guest side helpers of the isolation measurements (included by the
 * isolation-tests' *.guest.c files only). */
#ifndef KQ_ISOLATION_ISOB_GUEST_H
#define KQ_ISOLATION_ISOB_GUEST_H

#include "guest/guest.h"
#include "isolation-tests/isob_abi.h"

/* A SYNC carrying this guest's TSC; returns the host's command (args[2]),
 * its parameters stay in the message's args[3..5]. */
static inline uint64_t isob_sync(uint64_t stage)
{
	struct kq_ucall *uc = &kq_self_params()->ucall;
	memset(uc, 0, sizeof(*uc));
	uc->kind = KQ_UC_SYNC;
	uc->args[0] = stage;
	uc->args[1] = kq_rdtsc_begin();
	kq_ucall(uc);
	return ((volatile struct kq_ucall *)uc)->args[2];
}

static inline uint64_t isob_reply_arg(int i)
{
	return ((volatile struct kq_ucall *)&kq_self_params()->ucall)->args[i];
}

/* SYNCs until the host answers something other than AGAIN. */
static inline uint64_t isob_wait_cmd(uint64_t stage)
{
	uint64_t cmd;
	while ((cmd = isob_sync(stage)) == ISOB_CMD_AGAIN)
		;
	return cmd;
}

#endif
