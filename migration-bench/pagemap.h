/* Never-populated pages of private anonymous memory, from /proc/self/pagemap
 * (see pagemap.c). */
#ifndef KQ_MIG_PAGEMAP_H
#define KQ_MIG_PAGEMAP_H

#include <stdint.h>

/* An fd for kq_mig_absent(), or -1 (then nothing is known absent). */
int kq_mig_pagemap_open(void);
/* Sets bit i of bits when page i of mem (page-aligned, npages <= 256) is
 * neither present nor swapped. Only valid for private anonymous memory (a
 * shared mapping's page may live in the page cache unmapped). 0, or -1
 * when it cannot tell (bits then undefined: read the pages). */
int kq_mig_absent(int fd, const void *mem, uint32_t npages, uint8_t *bits);
/* Maps the pages of npages (<= 256) at mem (page-aligned) that are not
 * mapped yet (mincore) writable, one MADV_POPULATE_WRITE per stretch, where
 * a destination is about to write them: one call instead of a page fault
 * each. Best effort: without it (Linux before 5.14) the writes fault the
 * pages in. */
void kq_mig_populate(uint8_t *mem, uint32_t npages);

#endif
