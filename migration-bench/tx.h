/* The sending side's page frames (see tx.c). */
#ifndef KQ_MIG_TX_H
#define KQ_MIG_TX_H

#include "migration-bench/proto.h"

/* Appends one PAGES frame (sequence number seq) holding npages pages of mem
 * at gpa. pagemap: an fd from kq_mig_pagemap_open() when mem is private
 * anonymous memory (never-populated pages are flagged zero unread), else
 * -1. 0, or -1 when out of memory or zstd failed. */
int kq_mig_pages_frame(struct kq_bytes *out, uint32_t seq, uint64_t gpa, const uint8_t *mem,
		       uint32_t npages, struct kq_mig_zstd *z, int pagemap,
		       struct kq_mig_run_stats *st);

#endif
