/* The saved state of a VM and its vCPUs as a list of typed records, and the
 * versioned, self-describing byte format they travel in (docs/state.md).
 *
 * Byte format, little-endian, no padding anywhere (every byte is covered by
 * a checksum, so any changed byte makes the decoder fail):
 *
 *   header (36 bytes)
 *     0  magic "KQVMSTAT"
 *     8  u16 format major    10  u16 format minor
 *    12  u32 vCPU count      16  u32 record count
 *    20  u64 total length of the encoding, header included
 *    28  u64 XXH3_64bits of header bytes 0..27
 *   then `record count` records, back to back:
 *     0  u64 XXH3_64bits of record bytes 8..(20 + length - 1)
 *     8  u16 type            10  u16 record version
 *    12  u32 vCPU index, or KQ_STATE_VM (0xffffffff) for VM-wide records
 *    16  u32 payload length  20  payload
 *
 * Payloads are KVM's own structures as the ioctls return them (x86-64 only).
 * The decoder checks every length, index and checksum and fails with the
 * byte offset and the field. Records of a type this reader does not know
 * are accepted (kept, listed, skipped by restore) only from a newer minor
 * version of the format; a minor version may add only records that a reader
 * may ignore. Anything else unknown is an error. */
#ifndef KQ_VMM_STATE_RECORD_H
#define KQ_VMM_STATE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KQ_STATE_MAGIC	     "KQVMSTAT"
#define KQ_STATE_MAJOR	     1
#define KQ_STATE_MINOR	     0
#define KQ_STATE_HEADER_SIZE 36
#define KQ_STATE_REC_HEADER  20
#define KQ_STATE_VM	     0xffffffffu /* vCPU field of VM-wide records */
#define KQ_STATE_MAX_VCPUS   1024
#define KQ_STATE_MAX_PAYLOAD (1u << 20)

/* Record types. VM-wide first, then per vCPU; docs/state.md lists the ioctl
 * each comes from. */
enum kq_state_type {
	KQ_REC_VM = 0x01,	  /* u32 irqchip mode (enum kq_irqchip) */
	KQ_REC_CLOCK = 0x02,	  /* struct kvm_clock_data */
	KQ_REC_PIC_MASTER = 0x03, /* struct kvm_pic_state */
	KQ_REC_PIC_SLAVE = 0x04,  /* struct kvm_pic_state */
	KQ_REC_IOAPIC = 0x05,	  /* struct kvm_ioapic_state */
	KQ_REC_PIT2 = 0x06,	  /* struct kvm_pit_state2 */

	KQ_REC_REGS = 0x10,	    /* struct kvm_regs */
	KQ_REC_SREGS = 0x11,	    /* struct kvm_sregs */
	KQ_REC_SREGS2 = 0x12,	    /* struct kvm_sregs2 */
	KQ_REC_FPU = 0x13,	    /* struct kvm_fpu */
	KQ_REC_XSAVE = 0x14,	    /* struct kvm_xsave, 4096 bytes or KVM_CAP_XSAVE2's size */
	KQ_REC_XCRS = 0x15,	    /* struct kvm_xcrs */
	KQ_REC_MSRS = 0x16,	    /* n x {u32 index, u64 value} */
	KQ_REC_MSRS_DROPPED = 0x17, /* n x u32 index: listed but not readable */
	KQ_REC_LAPIC = 0x18,	    /* struct kvm_lapic_state */
	KQ_REC_EVENTS = 0x19,	    /* struct kvm_vcpu_events */
	KQ_REC_MP_STATE = 0x1a,	    /* struct kvm_mp_state */
	KQ_REC_DEBUGREGS = 0x1b,    /* struct kvm_debugregs */
	KQ_REC_TSC_KHZ = 0x1c,	    /* u64 */
	KQ_REC_TSC_OFFSET = 0x1d,   /* u64 (KVM_VCPU_TSC_OFFSET) */
	KQ_REC_CPUID = 0x1e,	    /* n x struct kvm_cpuid_entry2 */
	KQ_REC_NESTED = 0x1f,	    /* struct kvm_nested_state + data, length = its size */
};

#define KQ_STATE_MSR_ENTRY 12 /* bytes per entry of a KQ_REC_MSRS payload */

struct kq_state_record {
	uint16_t type;
	uint16_t version;
	uint32_t vcpu; /* KQ_STATE_VM for VM-wide records */
	uint32_t len;
	uint8_t *data; /* owned */
};

struct kq_state {
	uint32_t nvcpus;
	uint16_t minor; /* format minor version it was decoded from */
	uint32_t nrecords, cap;
	struct kq_state_record *records;
};

/* An empty state for nvcpus vCPUs; NULL with kq_err() on bad input. */
struct kq_state *kq_state_new(uint32_t nvcpus);
void kq_state_free(struct kq_state *s);
/* Appends a copy of a record of a known type, checked like the decoder checks
 * it (scope, vCPU index, length, contents, duplicates). */
int kq_state_add(struct kq_state *s, uint16_t type, uint32_t vcpu, const void *data, uint32_t len);
/* The record of that type for that vCPU (KQ_STATE_VM for VM-wide), or NULL. */
const struct kq_state_record *kq_state_find(const struct kq_state *s, uint16_t type, uint32_t vcpu);

/* Encodes into a malloc'd buffer. Fails on records of unknown types (kept
 * from a newer minor version): this writer cannot vouch for them. */
int kq_state_encode(const struct kq_state *s, uint8_t **buf, size_t *len);
/* Decodes and checks everything, including mandatory records (docs/state.md).
 * On failure, kq_err() names the byte offset and the field. */
int kq_state_decode(const uint8_t *buf, size_t len, struct kq_state **out);

/* Inspection: a name for any type ("unknown-0x0042" for unknown ones), a walk
 * over the records in order, and one line per record:
 * "<prefix><type> <vcpuN|vm> <len> bytes". */
const char *kq_state_type_name(uint16_t type);
typedef int (*kq_state_record_fn)(void *ctx, const struct kq_state_record *r, const char *name);
int kq_state_foreach_record(const struct kq_state *s, kq_state_record_fn fn, void *ctx);
void kq_state_describe(const struct kq_state *s, FILE *f, const char *prefix);

#endif
