/* The covert-channel receiver's decoding on the host's time line, apart from
 * the VMs so that it can be tested on synthetic passes with known bits. */
#ifndef KQ_ISOLATION_COVERT_DECODE_H
#define KQ_ISOLATION_COVERT_DECODE_H

#include <stdint.h>

/* passes: npasses pairs (start in host TSC cycles, duration in cycles). Slot
 * i is [t0 + i*slot, t0 + (i+1)*slot); its value is the median duration of
 * the passes lying wholly inside it after its first quarter (the sender's
 * switch). Otsu's split of the values' logarithms gives the bits: rx[i] = 1
 * for a slow slot. A slot without a pass reads 0. Returns the number of such
 * slots, with *threshold in cycles (0 when there is none); -1 when out of
 * memory. */
long isob_covert_decode(const uint64_t *passes, uint64_t npasses, uint64_t t0, uint64_t slot,
			uint64_t nbits, uint8_t *rx, double *threshold);

#endif
