/* The destination's receiving of page runs straight into slot memory
 * (kq_mig_recv_read): data lands without passing through the payload
 * buffer, a corrupted page is still refused by the frame checksum, a
 * compressed run takes the buffered path, the same over loopback TCP
 * (kq_mig_conn_recv) in the clear and keyed; and what pagemap.c tells about
 * never-populated memory (kq_mig_absent, kq_mig_populate). */
#include "migration-bench/pagemap.h"
#include "migration-bench/recv.h"
#include "migration-bench/transport.h"
#include "tests/tap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 32
#define GPA   0x100000000ULL

struct src {
	const uint8_t *p, *end;
	size_t calls;
};

static int src_read(void *ctx, void *dst, size_t n, char *err, size_t errlen)
{
	struct src *s = ctx;
	if (n > (size_t)(s->end - s->p)) {
		snprintf(err, errlen, "test source: the stream ends");
		return -1;
	}
	memcpy(dst, s->p, n);
	s->p += n;
	s->calls++;
	return 0;
}

static uint8_t *slot;
static int sink_setup(void *ctx, const struct kq_mig_setup *s, char *err, size_t n)
{
	return 0;
}
static uint8_t *sink_mem(void *ctx, int i)
{
	return slot;
}
static int sink_state(void *ctx, const struct kq_mig_state *st, char *err, size_t n)
{
	return 0;
}

/* SETUP and one PAGES frame of PAGES pages of mem (every other page zero). */
static void build(struct kq_bytes *out, const uint8_t *mem, struct kq_mig_zstd *z)
{
	struct kq_mig_setup s = {.version = KQ_MIG_VERSION, .vcpus = 1, .nslots = 1};
	s.slots[0] = (struct kq_mig_slot){.gpa = GPA, .size = PAGES * KQ_MIG_PAGE, .name = "test"};
	struct kq_bytes p = {0};
	kq_mig_setup_put(&p, &s);
	kq_mig_frame_put(out, KQ_MF_SETUP, 0, p.p, (uint32_t)p.len);
	kq_bytes_reset(&p);
	kq_mig_run_put(&p, GPA, mem, PAGES, z, NULL, NULL, NULL);
	kq_mig_frame_put(out, KQ_MF_PAGES, 1, p.p, (uint32_t)p.len);
	kq_bytes_free(&p);
}

/* Feeds the stream frame by frame through kq_mig_recv_read. */
static int feed(const struct kq_bytes *st, struct kq_bytes *buf, size_t *reads, char *err, size_t n)
{
	struct kq_mig_sink sink = {sink_setup, sink_mem, sink_state, NULL, NULL, NULL};
	struct kq_mig_recv rx;
	kq_mig_recv_init(&rx, &sink);
	struct src s = {st->p, st->p + st->len, 0};
	err[0] = '\0';
	int rc = 0;
	while (rc == 0 && s.p < s.end) {
		const uint8_t *hdr = s.p;
		s.p += KQ_MIG_HDR_SIZE;
		rc = kq_mig_recv_read(&rx, hdr, &(struct kq_mig_src){src_read, &s}, buf, err, n);
	}
	if (rc == 0 && rx.pages != PAGES) {
		snprintf(err, n, "%llu pages counted", (unsigned long long)rx.pages);
		rc = -1;
	}
	kq_mig_recv_free(&rx);
	*reads = s.calls;
	return rc;
}

static void test_in_place(void)
{
	uint8_t *mem = calloc(PAGES, KQ_MIG_PAGE);
	for (int p = 0; p < PAGES; p += 2)
		memset(mem + (size_t)p * KQ_MIG_PAGE, 'a' + p, KQ_MIG_PAGE);
	slot = malloc(PAGES * KQ_MIG_PAGE);
	memset(slot, 0x55, PAGES * KQ_MIG_PAGE); /* stale: zero pages must clear */
	struct kq_bytes st = {0}, buf = {0};
	char err[512] = "";
	size_t reads;
	build(&st, mem, NULL);
	is_int(feed(&st, &buf, &reads, err, sizeof(err)), 0, "raw run received (%s)", err);
	ok(memcmp(slot, mem, PAGES * KQ_MIG_PAGE) == 0, "slot memory equals the source's");
	ok(buf.cap < PAGES / 2 * KQ_MIG_PAGE,
	   "the page data did not pass through the payload buffer (%zu bytes)", buf.cap);
	/* SETUP, then the run's head, bitmap and one read per data page. */
	is_int(reads, 1 + 2 + PAGES / 2, "one read per stretch of data pages");

	/* A flipped byte inside a data page: the checksum refuses the frame. */
	st.p[st.len - 100] ^= 1;
	is_int(feed(&st, &buf, &reads, err, sizeof(err)), -1, "corrupted page data refused");
	has_substr(err, "frame 1 (PAGES)", "names the frame");
	has_substr(err, "field checksum", "by the checksum");
	st.p[st.len - 100] ^= 1;

	/* A corrupted head (npages): refused as before, by the checksum. */
	uint32_t setup_len;
	memcpy(&setup_len, st.p + 8, 4); /* little-endian host */
	size_t np_at = 2 * KQ_MIG_HDR_SIZE + setup_len + 8;
	st.p[np_at] ^= 0x03; /* 32 pages become 35: still in the slot, bitmap longer */
	is_int(feed(&st, &buf, &reads, err, sizeof(err)), -1, "corrupted run head refused");
	has_substr(err, "field checksum", "by the checksum, before any field is trusted");
	kq_bytes_free(&st);

	/* A compressed run is read whole into the buffer, then expanded. */
	struct kq_mig_zstd *z = kq_mig_zstd_new(1);
	memset(slot, 0x55, PAGES * KQ_MIG_PAGE);
	build(&st, mem, z);
	is_int(feed(&st, &buf, &reads, err, sizeof(err)), 0, "zstd run received (%s)", err);
	ok(memcmp(slot, mem, PAGES * KQ_MIG_PAGE) == 0, "zstd: slot memory equals the source's");
	kq_mig_zstd_free(z);
	kq_bytes_free(&st);
	kq_bytes_free(&buf);
	free(slot);
	free(mem);
}

struct peer {
	int lfd;
	const uint8_t *key;
	int rc;
	char err[512];
};

/* The destination's side: frames through kq_mig_conn_recv until the stream
 * ends, as dest.c reads them. */
static void *receiver(void *arg)
{
	struct peer *pe = arg;
	struct kq_mig_conn c;
	pe->rc = kq_mig_accept(pe->lfd, pe->key, 5, &c, pe->err, sizeof(pe->err));
	if (pe->rc < 0)
		return NULL;
	struct kq_mig_sink sink = {sink_setup, sink_mem, sink_state, NULL, NULL, NULL};
	struct kq_mig_recv rx;
	struct kq_bytes buf = {0};
	kq_mig_recv_init(&rx, &sink);
	for (int i = 0; i < 2 && pe->rc == 0; i++) /* SETUP, PAGES */
		pe->rc = kq_mig_conn_recv(&c, &rx, &buf, pe->err, sizeof(pe->err));
	if (pe->rc == 0 && rx.pages != PAGES)
		pe->rc = -1;
	kq_mig_recv_free(&rx);
	kq_bytes_free(&buf);
	kq_mig_conn_close(&c);
	return NULL;
}

static void test_loopback(void)
{
	static const uint8_t key[KQ_MIG_KEY_BYTES] = {9, 8, 7};
	uint8_t *mem = calloc(PAGES, KQ_MIG_PAGE);
	for (int p = 1; p < PAGES; p += 3)
		memset(mem + (size_t)p * KQ_MIG_PAGE, 'k' + p, KQ_MIG_PAGE);
	slot = malloc(PAGES * KQ_MIG_PAGE);
	struct kq_bytes st = {0};
	build(&st, mem, NULL);
	for (int keyed = 0; keyed < 2; keyed++) {
		memset(slot, 0x33, PAGES * KQ_MIG_PAGE);
		struct peer pe = {.key = keyed ? key : NULL};
		char err[512] = "", addr[64];
		int port;
		pe.lfd = kq_mig_listen("127.0.0.1:0", &port, err, sizeof(err));
		pthread_t th;
		pthread_create(&th, NULL, receiver, &pe);
		snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
		struct kq_mig_conn c;
		int rc = kq_mig_connect(addr, pe.key, 5, &c, err, sizeof(err));
		if (rc == 0) {
			rc = kq_mig_conn_send(&c, st.p, st.len, err, sizeof(err));
			kq_mig_conn_close(&c);
		}
		pthread_join(th, NULL);
		close(pe.lfd);
		is_int(rc == 0 && pe.rc == 0, 1, "%s: received over loopback (%s%s)",
		       keyed ? "keyed" : "in the clear", err, pe.err);
		ok(memcmp(slot, mem, PAGES * KQ_MIG_PAGE) == 0,
		   "%s: slot memory equals the source's", keyed ? "keyed" : "in the clear");
	}
	kq_bytes_free(&st);
	free(slot);
	free(mem);
}

static void test_pagemap(void)
{
	size_t ps = 4096;
	int fd = kq_mig_pagemap_open();
	if (!ok(fd >= 0, "/proc/self/pagemap opens"))
		return;
	uint8_t *m =
	    mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(m, 16 * ps, MADV_NOHUGEPAGE);
	m[3 * ps] = 1;
	m[9 * ps] = 1;
	uint8_t bits[2];
	is_int(kq_mig_absent(fd, m, 16, bits), 0, "pagemap read");
	is_int(bits[0] | bits[1] << 8, 0xffff & ~(1 << 3 | 1 << 9),
	       "absent: exactly the pages never written");
	memset(m, 1, 16 * ps);
	kq_mig_absent(fd, m, 16, bits);
	is_int(bits[0] | bits[1] << 8, 0, "all written: none absent");
	munmap(m, 16 * ps);
	m = mmap(NULL, 16 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	madvise(m, 16 * ps, MADV_NOHUGEPAGE);
	m[0] = 1;
	kq_mig_populate(m, 16);
	kq_mig_absent(fd, m, 16, bits);
	is_int(bits[0] | bits[1] << 8, 0, "populate maps every page of the range");
	munmap(m, 16 * ps);
	close(fd);
}

int main(void)
{
	test_in_place();
	test_loopback();
	test_pagemap();
	return done_testing();
}
