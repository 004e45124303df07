/* Shared by state_record.c (the record list) and state_codec.c (the bytes).
 * Not part of the library's API. */
#ifndef KQ_VMM_STATE_RECORD_INTERNAL_H
#define KQ_VMM_STATE_RECORD_INTERNAL_H

#include "vmm/state_record.h"

#include <stdbool.h>

#define KQ_STATE_REC_VERSION 1 /* every record type is at version 1 */

struct kq_rec_type {
	uint16_t type;
	const char *name;
	bool vm;	   /* VM-wide (vCPU field KQ_STATE_VM) */
	uint16_t group;	   /* records of one group describe the same state */
	uint32_t size;	   /* fixed payload size; 0: variable */
	uint32_t elem;	   /* variable: the length is a multiple of this */
	uint32_t min, max; /* variable: bounds of the length */
};

/* Where a record sits, for error messages: its byte offset in an encoding
 * (from_bytes) or just its index. */
struct kq_rec_where {
	bool from_bytes;
	size_t offset;
	uint32_t index;
};

const struct kq_rec_type *kq_rec_type_find(uint16_t type);
/* Checks a record of a known type (version, scope, vCPU index, length and
 * the contents that carry lengths or modes); *t is NULL for an unknown type,
 * which passes. data holds len bytes. */
int kq_rec_check(const struct kq_rec_where *w, uint32_t nvcpus, uint16_t type, uint16_t version,
		 uint32_t vcpu, const uint8_t *data, uint32_t len, const struct kq_rec_type **t);
/* Whether s lacks a record restore cannot do without (docs/state.md); if so,
 * msg says which, for whom. */
bool kq_rec_missing(const struct kq_state *s, char *msg, size_t len);
int kq_rec_append(struct kq_state *s, uint16_t type, uint16_t version, uint32_t vcpu,
		  const void *data, uint32_t len);

#endif
