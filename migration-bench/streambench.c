/* `kvmqual migrate stream-bench`: the memory stream's throughput beside raw
 * loopback TCP, in one run, without KVM. Raw TCP is one send() loop into a
 * recv() loop. The stream is the migration's own code: PAGES frames built by
 * kq_mig_pages_frame() from guest-like memory (private anonymous, 4K pages,
 * every page holding data), sent by the transport (in the clear, or keyed),
 * read and applied by the destination's reader (checksums, page hashes) into
 * fresh memory, as a destination does; then once more into memory already
 * populated, which leaves out the destination's page faults. */
#include "migration-bench/pagemap.h"
#include "migration-bench/recv.h"
#include "migration-bench/streambench.h"
#include "migration-bench/transport.h"
#include "migration-bench/tx.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TEST_GPA 0x100000000ULL

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint8_t *anon(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, size, MADV_NOHUGEPAGE); /* like the guests' default backing */
	return p;
}

/* --- raw TCP ------------------------------------------------------------- */
struct raw_rx {
	int lfd;
	uint64_t bytes;
	double end;
	char err[256];
};

static void *raw_reader(void *arg)
{
	struct raw_rx *x = arg;
	struct kq_mig_conn c;
	if (kq_mig_accept(x->lfd, NULL, 30, &c, x->err, sizeof(x->err)) < 0)
		return NULL;
	size_t bl = 4u << 20;
	uint8_t *b = malloc(bl);
	uint64_t got = 0;
	while (b && got < x->bytes) {
		ssize_t r = recv(c.fd, b, bl, 0);
		if (r <= 0) {
			snprintf(x->err, sizeof(x->err), "recv: %s",
				 r ? strerror(errno) : "closed");
			break;
		}
		got += (uint64_t)r;
	}
	x->end = now();
	free(b);
	kq_mig_conn_close(&c);
	return NULL;
}

/* A loopback listener on a free port, its reader thread started, and the
 * sender's connection to it. */
static int pair(int *lfd, void *(*reader)(void *), void *arg, pthread_t *th, const uint8_t *key,
		struct kq_mig_conn *c, char *err, size_t n)
{
	int port;
	*lfd = kq_mig_listen("127.0.0.1:0", &port, err, n);
	if (*lfd < 0)
		return -1;
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	int e = pthread_create(th, NULL, reader, arg);
	if (e) {
		snprintf(err, n, "pthread_create: %s", strerror(e));
		close(*lfd);
		return -1;
	}
	return kq_mig_connect(addr, key, 30, c, err, n) < 0 ? 1 : 0;
}

static int raw_tcp(uint64_t bytes, double *Bps, char *err, size_t n)
{
	struct raw_rx x = {.bytes = bytes};
	pthread_t th;
	struct kq_mig_conn c;
	int rc = pair(&x.lfd, raw_reader, &x, &th, NULL, &c, err, n);
	if (rc < 0)
		return -1;
	size_t bl = 4u << 20;
	uint8_t *b = calloc(1, bl);
	double t0 = now();
	for (uint64_t sent = 0; rc == 0 && b && sent < bytes;) {
		size_t l = bytes - sent < bl ? (size_t)(bytes - sent) : bl;
		rc = kq_mig_conn_send(&c, b, l, err, n);
		sent += l;
	}
	pthread_join(th, NULL);
	if (rc == 0)
		kq_mig_conn_close(&c);
	close(x.lfd);
	free(b);
	if (rc == 0 && x.err[0]) {
		snprintf(err, n, "raw TCP reader: %s", x.err);
		rc = -1;
	}
	*Bps = rc == 0 ? (double)bytes / (x.end - t0) : 0;
	return rc ? -1 : 0;
}

/* --- the migration stream ------------------------------------------------ */
struct st_rx {
	int lfd;
	const uint8_t *key;
	uint64_t size;
	uint8_t *mem; /* the destination's memory; NULL: fresh for this run */
	bool fresh;
	int pagemap;
	double end;
	char err[512];
};

static int rx_setup(void *ctx, const struct kq_mig_setup *s, char *err, size_t n)
{
	struct st_rx *x = ctx;
	if (s->nslots != 1 || s->slots[0].size != x->size) {
		snprintf(err, n, "stream bench: unexpected layout");
		return -1;
	}
	return 0;
}
static uint8_t *rx_mem(void *ctx, int slot)
{
	return ((struct st_rx *)ctx)->mem;
}
static int rx_state(void *ctx, const struct kq_mig_state *st, char *err, size_t n)
{
	return 0;
}
static int rx_absent(void *ctx, int slot, const uint8_t *mem, uint32_t np, uint8_t *bits)
{
	return kq_mig_absent(((struct st_rx *)ctx)->pagemap, mem, np, bits);
}

static void rx_populate(void *ctx, int slot, uint8_t *mem, uint32_t np)
{
	kq_mig_populate(mem, np);
}

static void *stream_reader(void *arg)
{
	struct st_rx *x = arg;
	struct kq_mig_conn c;
	if (kq_mig_accept(x->lfd, x->key, 30, &c, x->err, sizeof(x->err)) < 0)
		return NULL;
	struct kq_mig_sink sink = {rx_setup, rx_mem, rx_state, x, rx_absent, rx_populate};
	struct kq_mig_recv rx;
	struct kq_bytes p = {0};
	int r = kq_mig_recv_init(&rx, &sink);
	while (r == 0 && rx.phase != KQ_MIG_PH_STATE)
		r = kq_mig_conn_recv(&c, &rx, &p, x->err, sizeof(x->err));
	x->end = now();
	kq_bytes_free(&p);
	kq_mig_recv_free(&rx);
	kq_mig_conn_close(&c);
	return NULL;
}

static int stream(uint8_t *src, uint8_t *dst, uint64_t size, const uint8_t *key, int pagemap,
		  double *Bps, double *wire_Bps, char *err, size_t n)
{
	struct st_rx x = {.key = key, .size = size, .mem = dst, .pagemap = pagemap};
	pthread_t th;
	struct kq_mig_conn c;
	int rc = pair(&x.lfd, stream_reader, &x, &th, key, &c, err, n);
	if (rc < 0)
		return -1;
	struct kq_mig_setup s = {.version = KQ_MIG_VERSION, .vcpus = 1, .nslots = 1};
	s.slots[0] = (struct kq_mig_slot){.gpa = TEST_GPA, .size = size, .name = "test"};
	struct kq_bytes out = {0}, pl = {0};
	struct kq_mig_run_stats st = {0};
	kq_mig_setup_put(&pl, &s);
	if (rc == 0)
		rc = kq_mig_conn_send_frame(&c, KQ_MF_SETUP, pl.p, (uint32_t)pl.len, err, n);
	double t0 = now();
	uint64_t np = size / KQ_MIG_PAGE;
	for (uint64_t pg = 0; rc == 0 && pg < np; pg += KQ_MIG_MAX_RUN) {
		uint32_t run = np - pg < KQ_MIG_MAX_RUN ? (uint32_t)(np - pg) : KQ_MIG_MAX_RUN;
		rc = kq_mig_pages_frame(&out, c.tx_seq++, TEST_GPA + pg * KQ_MIG_PAGE,
					src + pg * KQ_MIG_PAGE, run, NULL, pagemap, &st);
		if (rc == 0)
			rc = kq_mig_conn_send(&c, out.p, out.len, err, n);
		kq_bytes_reset(&out);
	}
	struct kq_mig_iter it = {.final = 1, .pages = st.pages, .zero_pages = st.zero_pages};
	kq_bytes_reset(&pl);
	kq_mig_iter_put(&pl, &it);
	if (rc == 0)
		rc = kq_mig_conn_send_frame(&c, KQ_MF_ITER, pl.p, (uint32_t)pl.len, err, n);
	pthread_join(th, NULL);
	if (rc == 0)
		kq_mig_conn_close(&c);
	close(x.lfd);
	kq_bytes_free(&out);
	kq_bytes_free(&pl);
	if (rc == 0 && x.err[0]) {
		snprintf(err, n, "stream reader: %s", x.err);
		rc = -1;
	}
	if (rc == 0 && memcmp(src, dst, size) != 0) {
		snprintf(err, n,
			 "stream bench: the destination's memory differs from the source's");
		rc = -1;
	}
	*Bps = rc == 0 ? (double)size / (x.end - t0) : 0;
	*wire_Bps = rc == 0 ? (double)st.wire_bytes / (x.end - t0) : 0;
	return rc ? -1 : 0;
}

int kq_mig_stream_bench(const struct kq_mig_stream_bench_opts *o, struct kq_mig_stream_bench *b,
			char *err, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->bytes = o->size;
	uint8_t *src = anon(o->size);
	int pagemap = kq_mig_pagemap_open();
	int rc = src ? 0 : -1;
	if (!src)
		snprintf(err, n, "mmap %llu bytes: %s", (unsigned long long)o->size,
			 strerror(errno));
	for (uint64_t i = 0; src && i < o->size; i += 8) /* every page holds data */
		*(uint64_t *)(src + i) = i * 0x9e3779b97f4a7c15ULL + 1;
	if (rc == 0)
		rc = raw_tcp(o->size, &b->raw_Bps, err, n);
	uint8_t *dst = NULL;
	for (int keyed = 0; rc == 0 && keyed <= (o->key != NULL); keyed++) {
		dst = anon(o->size); /* fresh, as a destination's guest memory */
		if (!dst) {
			snprintf(err, n, "mmap: %s", strerror(errno));
			rc = -1;
			break;
		}
		double wire;
		rc = stream(src, dst, o->size, keyed ? o->key : NULL, pagemap,
			    keyed ? &b->keyed_Bps : &b->stream_fresh_Bps, &wire, err, n);
		if (rc == 0 && !keyed)
			rc = stream(src, dst, o->size, NULL, pagemap, &b->stream_warm_Bps,
				    &b->stream_wire_Bps, err, n);
		munmap(dst, o->size);
	}
	if (rc == 0)
		rc = raw_tcp(o->size, &b->raw2_Bps, err, n); /* after: drift shows */
	if (src)
		munmap(src, o->size);
	if (pagemap >= 0)
		close(pagemap);
	return rc;
}
