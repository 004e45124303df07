/* Host/guest ABI of the isolation measurements (tests 5-8): the guest's
 * commands and argument slots. Fixed-width types only (read by the guest). */
#ifndef KQ_ISOLATION_ISOB_ABI_H
#define KQ_ISOLATION_ISOB_ABI_H

/* Every guest talks through SYNC ucalls: args[0] the stage, args[1] the guest
 * TSC read just before the exit; the host answers in args[2] (a command) and
 * args[3..5] (its parameters). An unanswered SYNC reads as ISOB_CMD_AGAIN. */
#define ISOB_CMD_AGAIN 0
#define ISOB_CMD_GO    1
#define ISOB_CMD_DONE  2

/* covert channel: the GO answer carries the first slot's start (guest TSC),
 * the slot length in cycles and the number of bits. */
#define ISOB_COV_T0    3
#define ISOB_COV_SLOT  4
#define ISOB_COV_NBITS 5
/* covert params args[]: role, bytes of the working set, address of the probe
 * chain's first entry (receiver), address of the bit array (sender). */
#define ISOB_COV_ARG_ROLE  0
#define ISOB_COV_ARG_BYTES 1
#define ISOB_COV_ARG_CHAIN 2
#define ISOB_COV_ARG_BITS  3
#define ISOB_COV_ARG_LOG   4 /* receiver: where (time, latency) pairs go */
#define ISOB_COV_ARG_LOGN  5 /* receiver: room for that many pairs */
#define ISOB_ROLE_SENDER   1
#define ISOB_ROLE_RECEIVER 2

/* noisy neighbour: aggressor modes (args[0]) and the victim's arguments. */
#define ISOB_AGG_STREAM	   1
#define ISOB_AGG_EXITS	   2
#define ISOB_AGG_SPLITLOCK 3
#define ISOB_AGG_ARG_MODE  0
#define ISOB_AGG_ARG_BYTES 1 /* stream: bytes of test memory to stream over */
#define ISOB_VIC_ARG_CHAIN 0 /* first entry of the victim's chain */
#define ISOB_VIC_ARG_PER   1 /* dependent loads per sample */
#define ISOB_VIC_ARG_NS	   2 /* samples per measurement (at most KQ_MAX_SAMPLES) */

/* KSM: args[0] pages to fill, args[1] the seed of the shared content,
 * args[2] the seed of the private content; the GO answer of stage 2 asks the
 * guest to time one write per page. */
#define ISOB_KSM_ARG_PAGES   0
#define ISOB_KSM_ARG_SHARED  1
#define ISOB_KSM_ARG_PRIVATE 2

#endif
