/* What the host and the guest side of the memory tests exchange. */
#ifndef KQ_WORKLOADS_MEMORY_ABI_H
#define KQ_WORKLOADS_MEMORY_ABI_H

/* The host's answer to memory.kernels' SYNC, in the message's args[]. */
enum {
	KQ_MJ_KERNEL = 1, /* enum kq_memk_kernel; KQ_MEMK_NONE: no more jobs */
	KQ_MJ_BASE,	  /* guest-physical start of the working set */
	KQ_MJ_LINES,	  /* its size in 64-byte lines */
	KQ_MJ_POS,	  /* chase: first pointer; stream: 0 */
	KQ_MJ_GOAL,	  /* measurement goal in TSC cycles */
};

/* memory.first-touch: regions described by four args each. */
#define KQ_FT_REGIONS 4

#endif
