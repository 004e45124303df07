/* Numbers the exit benchmarks' guest workloads and host drivers agree on.
 * Included by freestanding guest code and by the host: constants only. */
#ifndef KQ_WORKLOADS_EXIT_ABI_H
#define KQ_WORKLOADS_EXIT_ABI_H

#include "guest/abi.h"
#include "vmm/layout.h"

/* Interrupt vectors the workloads install handlers for. */
#define KQ_VEC_TIMER	0xe0
#define KQ_VEC_SELF_IPI 0xe1
#define KQ_VEC_PING	0xe2 /* vCPU 0 -> vCPU 1 */
#define KQ_VEC_PONG	0xe3 /* vCPU 1 -> vCPU 0 */
#define KQ_VEC_GUARD	0xe4 /* kq_guard_arm's watchdog */
#define KQ_VEC_SPURIOUS 0xff

/* The PIC's edge/level control registers: with the in-kernel irqchip KVM
 * answers them itself, and reading them has no side effect. */
#define KQ_PORT_ELCR 0x4d0

/* An MSR index that no CPU and no KVM version defines: only the MSR filter
 * gives it a meaning, by sending every access to our userspace. */
#define KQ_MSR_USER	  0x4b510001u
#define KQ_MSR_USER_VALUE 0x6b766d7175616cULL /* what the host answers to RDMSR */

/* Writes here are signalled through an eventfd (KVM_IOEVENTFD): the MMIO
 * address lies in the unbacked window, one page past the userspace-MMIO one. */
#define KQ_IOEVENTFD_GPA  (KQ_MMIO_GPA + 0x1000)
#define KQ_IOEVENTFD_PORT 0x5d0

/* A hypercall number KVM does not implement: it must answer -KVM_ENOSYS. */
#define KQ_HC_UNKNOWN 0x4b51
#define KQ_KVM_ENOSYS 1000

/* args[] layouts. exit.scaling passes the row id (enum kq_exit_id) of the
 * kind it runs in the last slot, leaving the others to the row's own. */
#define KQ_SCALE_ROW_ARG (KQ_MAX_ARGS - 1)
enum kq_exit_ioevent_space { KQ_IOEVENT_MMIO = 0, KQ_IOEVENT_PIO = 1 };

#endif
