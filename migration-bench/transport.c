/* TCP transport with optional crypto_secretstream (see transport.h). */
#include "migration-bench/transport.h"

#include "migration-bench/recv.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AUTH_S	     "kvmqual-migrate-auth-listener"
#define AUTH_C	     "kvmqual-migrate-auth-sender"
#define NONCE	     32
#define ABYTES	     crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_HDR_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define MAX_MSG	     (KQ_MIG_HDR_SIZE + KQ_MIG_MAX_PAYLOAD + ABYTES)

int kq_mig_key_load(const char *path, uint8_t key[KQ_MIG_KEY_BYTES], char *err, size_t n)
{
	if (sodium_init() < 0) {
		snprintf(err, n, "key file %s: libsodium failed to initialise", path);
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "key file %s: open: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, n, "key file %s: fstat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, n,
			 "key file %s: mode %04o lets others read or write it; chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	uint8_t buf[4096];
	ssize_t r = read(fd, buf, sizeof(buf));
	int e = errno;
	close(fd);
	if (r < 0) {
		snprintf(err, n, "key file %s: read: %s", path, strerror(e));
		return -1;
	}
	if (r < 16) {
		snprintf(err, n, "key file %s: %zd bytes; a key needs at least 16", path, r);
		return -1;
	}
	crypto_generichash(key, KQ_MIG_KEY_BYTES, buf, (size_t)r, NULL, 0);
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int kq_mig_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *loopback,
		      char *err, size_t n)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host)) {
		snprintf(err, n, "address '%s': expected HOST:PORT", s);
		return -1;
	}
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 0 || port > 65535) {
		snprintf(err, n, "address '%s': port '%s' is not 0..65535", s, colon + 1);
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[hl - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1) {
			snprintf(err, n, "address '%s': '%s' is not an IPv6 address", s, host + 1);
			return -1;
		}
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
		return 0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1) {
		snprintf(err, n, "address '%s': '%s' is not an IPv4 address", s, host);
		return -1;
	}
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*len = sizeof(*a);
	*loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	return 0;
}

int kq_mig_loopback_up(char *err, size_t n)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "socket: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		snprintf(err, n, "bringing up lo: SIOCSIFFLAGS: %s", strerror(errno));
	close(fd);
	return rc;
}

int kq_mig_listen(const char *addr, int *port, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool lo;
	if (kq_mig_addr_parse(addr, &ss, &len, &lo, err, n) < 0)
		return -1;
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, n, "socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1) < 0) {
		snprintf(err, n, "listen on %s: %s", addr, strerror(errno));
		close(fd);
		return -1;
	}
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(err, n, "getsockname: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int kq_mig_conn_timeout(struct kq_mig_conn *c, double seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds,
			     .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
	return setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int write_all(struct kq_mig_conn *c, const void *p, size_t len, char *err, size_t n)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t w = send(c->fd, b, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			snprintf(err, n, "send after %llu bytes: %s (the peer went away?)",
				 (unsigned long long)c->wire_sent, strerror(errno));
			return -1;
		}
		b += w;
		len -= (size_t)w;
		c->wire_sent += (uint64_t)w;
	}
	return 0;
}

static int read_all(struct kq_mig_conn *c, void *p, size_t len, const char *what, char *err,
		    size_t n)
{
	uint8_t *b = p;
	size_t got = 0;
	while (got < len) {
		ssize_t r = recv(c->fd, b + got, len - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 || r < 0) {
			const char *why = r == 0 ? "the peer closed the connection"
					  : errno == EAGAIN || errno == EWOULDBLOCK
					      ? "timed out"
					      : strerror(errno);
			snprintf(err, n,
				 "frame %u (%s) byte %llu: the stream ends after %zu of %zu bytes: "
				 "%s",
				 c->rx_seq, what, (unsigned long long)c->rx_off, got, len, why);
			return -1;
		}
		got += (size_t)r;
		c->wire_recv += (uint64_t)r;
	}
	return 0;
}

static void tune(int fd)
{
	int one = 1, buf = 4 << 20;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
}

/* One secretstream message: u32 ciphertext length, then the ciphertext. */
static int send_sealed(struct kq_mig_conn *c, const uint8_t *m, size_t len, char *err, size_t n)
{
	kq_bytes_reset(&c->cbuf);
	uint8_t *w = kq_bytes_reserve(&c->cbuf, 4 + len + ABYTES);
	if (!w) {
		snprintf(err, n, "out of memory sealing %zu bytes", len);
		return -1;
	}
	unsigned long long clen;
	crypto_secretstream_xchacha20poly1305_push(&c->tx, w + 4, &clen, m, len, NULL, 0, 0);
	for (int i = 0; i < 4; i++)
		w[i] = (uint8_t)(clen >> (8 * i));
	return write_all(c, w, 4 + (size_t)clen, err, n);
}

static int read_sealed(struct kq_mig_conn *c, struct kq_bytes *out, const char *what, char *err,
		       size_t n)
{
	uint8_t l[4];
	if (read_all(c, l, 4, what, err, n) < 0)
		return -1;
	uint32_t clen =
	    (uint32_t)l[0] | (uint32_t)l[1] << 8 | (uint32_t)l[2] << 16 | (uint32_t)l[3] << 24;
	if (clen < ABYTES || clen > MAX_MSG) {
		snprintf(err, n,
			 "frame %u (%s) byte %llu: field sealed length: %u is outside %u..%u: the "
			 "peer does not speak the keyed protocol",
			 c->rx_seq, what, (unsigned long long)c->rx_off, clen, (unsigned)ABYTES,
			 (unsigned)MAX_MSG);
		return -1;
	}
	kq_bytes_reset(&c->cbuf);
	uint8_t *cb = kq_bytes_reserve(&c->cbuf, clen);
	kq_bytes_reset(out);
	uint8_t *m = kq_bytes_reserve(out, clen);
	if (!cb || !m) {
		snprintf(err, n, "out of memory reading %u bytes", clen);
		return -1;
	}
	if (read_all(c, cb, clen, what, err, n) < 0)
		return -1;
	unsigned long long mlen;
	unsigned char tag;
	if (crypto_secretstream_xchacha20poly1305_pull(&c->rx, m, &mlen, &tag, cb, clen, NULL, 0) !=
	    0) {
		snprintf(err, n,
			 "frame %u (%s) byte %llu: authentication failed: the peer does not hold "
			 "the key, or the bytes were altered",
			 c->rx_seq, what, (unsigned long long)c->rx_off);
		return -1;
	}
	out->len = (size_t)mlen;
	return 0;
}

/* The cleartext preamble of a keyed stream: KQMS magic, version, zeroes; as
 * long as a frame header, so a peer without a key reads it whole and says
 * what it is. */
static void preamble(uint8_t p[KQ_MIG_HDR_SIZE])
{
	memset(p, 0, KQ_MIG_HDR_SIZE);
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(KQ_MIG_SEALED_MAGIC >> (8 * i));
	p[4] = KQ_MIG_VERSION;
}

static int check_preamble(const uint8_t *got, char *err, size_t n)
{
	uint8_t want[KQ_MIG_HDR_SIZE];
	preamble(want);
	uint32_t magic = (uint32_t)got[0] | (uint32_t)got[1] << 8 | (uint32_t)got[2] << 16 |
			 (uint32_t)got[3] << 24;
	if (magic == KQ_MIG_MAGIC) {
		snprintf(err, n,
			 "handshake byte 0: field magic: the peer sends in the clear, this end "
			 "requires a key (--key)");
		return -1;
	}
	if (memcmp(got, want, KQ_MIG_HDR_SIZE) != 0) {
		snprintf(err, n,
			 "handshake byte 0: field magic: not a keyed kvmqual migration stream (or "
			 "protocol version %u, this kvmqual speaks %u)",
			 got[4], KQ_MIG_VERSION);
		return -1;
	}
	return 0;
}

/* Handshake: each side sends its preamble and secretstream header; the listener sends a
 * fresh nonce, the sender returns it sealed, so neither a peer without the
 * key nor a replay of an old session gets past it. */
static int handshake(struct kq_mig_conn *c, const uint8_t *key, bool listener, char *err, size_t n)
{
	uint8_t mine[KQ_MIG_HDR_SIZE + SS_HDR_BYTES], theirs[KQ_MIG_HDR_SIZE + SS_HDR_BYTES];
	uint8_t nonce[NONCE];
	struct kq_bytes m = {0};
	int rc = -1;
	if (sodium_init() < 0) {
		snprintf(err, n, "handshake: libsodium failed to initialise");
		return -1;
	}
	preamble(mine);
	crypto_secretstream_xchacha20poly1305_init_push(&c->tx, mine + KQ_MIG_HDR_SIZE, key);
	if (write_all(c, mine, sizeof(mine), err, n) < 0 ||
	    read_all(c, theirs, KQ_MIG_HDR_SIZE, "handshake", err, n) < 0 ||
	    check_preamble(theirs, err, n) < 0 ||
	    read_all(c, theirs + KQ_MIG_HDR_SIZE, SS_HDR_BYTES, "handshake", err, n) < 0)
		goto out;
	if (crypto_secretstream_xchacha20poly1305_init_pull(&c->rx, theirs + KQ_MIG_HDR_SIZE,
							    key) != 0) {
		snprintf(err, n, "handshake: the peer's stream header is invalid");
		goto out;
	}
	if (listener) {
		uint8_t msg[sizeof(AUTH_S) + NONCE];
		randombytes_buf(nonce, NONCE);
		memcpy(msg, AUTH_S, sizeof(AUTH_S));
		memcpy(msg + sizeof(AUTH_S), nonce, NONCE);
		if (send_sealed(c, msg, sizeof(msg), err, n) < 0 ||
		    read_sealed(c, &m, "handshake", err, n) < 0)
			goto out;
		if (m.len != sizeof(AUTH_C) + NONCE || memcmp(m.p, AUTH_C, sizeof(AUTH_C)) ||
		    sodium_memcmp(m.p + sizeof(AUTH_C), nonce, NONCE)) {
			snprintf(err, n,
				 "handshake: the peer's answer does not match the challenge");
			goto out;
		}
	} else {
		if (read_sealed(c, &m, "handshake", err, n) < 0)
			goto out;
		if (m.len != sizeof(AUTH_S) + NONCE || memcmp(m.p, AUTH_S, sizeof(AUTH_S))) {
			snprintf(err, n, "handshake: the listener's challenge is malformed");
			goto out;
		}
		uint8_t msg[sizeof(AUTH_C) + NONCE];
		memcpy(msg, AUTH_C, sizeof(AUTH_C));
		memcpy(msg + sizeof(AUTH_C), m.p + sizeof(AUTH_S), NONCE);
		if (send_sealed(c, msg, sizeof(msg), err, n) < 0)
			goto out;
	}
	c->secure = true;
	rc = 0;
out:
	kq_bytes_free(&m);
	return rc;
}

static void conn_init(struct kq_mig_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	tune(fd);
}

int kq_mig_accept(int lfd, const uint8_t *key, double timeout_s, struct kq_mig_conn *c, char *err,
		  size_t n)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, (int)(timeout_s * 1000));
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		snprintf(err, n, "accept: %s",
			 r == 0 ? "no sender connected in time" : strerror(errno));
		return -1;
	}
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		snprintf(err, n, "accept: %s", strerror(errno));
		return -1;
	}
	conn_init(c, fd);
	kq_mig_conn_timeout(c, timeout_s);
	if (key && handshake(c, key, true, err, n) < 0) {
		char e2[512];
		snprintf(e2, sizeof(e2), "peer refused before any state was read: %s", err);
		snprintf(err, n, "%s", e2);
		kq_mig_conn_close(c);
		return -1;
	}
	return 0;
}

int kq_mig_connect(const char *addr, const uint8_t *key, double timeout_s, struct kq_mig_conn *c,
		   char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool lo;
	if (kq_mig_addr_parse(addr, &ss, &len, &lo, err, n) < 0)
		return -1;
	int fd = -1;
	/* The listener may still be starting: retry a refused connection briefly. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, n, "socket: %s", strerror(errno));
			return -1;
		}
		if (connect(fd, (struct sockaddr *)&ss, len) == 0)
			break;
		int e = errno;
		close(fd);
		clock_gettime(CLOCK_MONOTONIC, &t);
		double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
		if (e != ECONNREFUSED || el > timeout_s) {
			snprintf(err, n, "connect to %s: %s", addr, strerror(e));
			return -1;
		}
		usleep(20000);
	}
	conn_init(c, fd);
	kq_mig_conn_timeout(c, timeout_s);
	if (key && handshake(c, key, false, err, n) < 0) {
		char e2[512];
		snprintf(e2, sizeof(e2), "%s: %s", addr, err);
		snprintf(err, n, "%s", e2);
		kq_mig_conn_close(c);
		return -1;
	}
	return 0;
}

void kq_mig_conn_close(struct kq_mig_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	kq_bytes_free(&c->cbuf);
	sodium_memzero(&c->tx, sizeof(c->tx));
	sodium_memzero(&c->rx, sizeof(c->rx));
}

int kq_mig_conn_send(struct kq_mig_conn *c, const uint8_t *frames, size_t len, char *err, size_t n)
{
	if (!c->secure)
		return write_all(c, frames, len, err, n);
	size_t pos = 0;
	while (pos + KQ_MIG_HDR_SIZE <= len) {
		uint32_t fl = (uint32_t)frames[pos + 8] | (uint32_t)frames[pos + 9] << 8 |
			      (uint32_t)frames[pos + 10] << 16 | (uint32_t)frames[pos + 11] << 24;
		size_t whole = KQ_MIG_HDR_SIZE + (size_t)fl;
		if (whole > len - pos)
			break;
		if (send_sealed(c, frames + pos, whole, err, n) < 0)
			return -1;
		pos += whole;
	}
	if (pos != len) {
		snprintf(err, n, "send: %zu bytes are not a whole frame", len - pos);
		return -1;
	}
	return 0;
}

int kq_mig_conn_send_frame(struct kq_mig_conn *c, uint16_t type, const void *payload, uint32_t len,
			   char *err, size_t n)
{
	struct kq_bytes f = {0};
	kq_mig_frame_put(&f, type, c->tx_seq, payload, len);
	int rc = f.failed ? -1 : kq_mig_conn_send(c, f.p, f.len, err, n);
	if (f.failed)
		snprintf(err, n, "out of memory building a %s frame", kq_mig_type_name(type));
	if (rc == 0)
		c->tx_seq++;
	kq_bytes_free(&f);
	return rc;
}

/* One sealed frame into m: its header at m->p, checked, the payload after
 * it (h->len bytes). */
static int read_sealed_frame(struct kq_mig_conn *c, struct kq_bytes *m, struct kq_mig_hdr *h,
			     char *err, size_t n)
{
	if (read_sealed(c, m, "header", err, n) < 0)
		return -1;
	if (m->len < KQ_MIG_HDR_SIZE) {
		snprintf(err, n, "frame %u byte %llu: sealed message of %zu bytes holds no header",
			 c->rx_seq, (unsigned long long)c->rx_off, m->len);
		return -1;
	}
	if (kq_mig_hdr_decode(m->p, c->rx_off, c->rx_seq, h, err, n) < 0)
		return -1;
	if (h->len != m->len - KQ_MIG_HDR_SIZE) {
		snprintf(err, n, "frame %u byte %llu: field length: %u, the message holds %zu",
			 c->rx_seq, (unsigned long long)c->rx_off + 8, h->len,
			 m->len - KQ_MIG_HDR_SIZE);
		return -1;
	}
	return 0;
}

static void frame_read(struct kq_mig_conn *c, const struct kq_mig_hdr *h)
{
	c->rx_seq++;
	c->rx_off += KQ_MIG_HDR_SIZE + (uint64_t)h->len;
}

int kq_mig_conn_read(struct kq_mig_conn *c, uint8_t hdr[KQ_MIG_HDR_SIZE], struct kq_bytes *payload,
		     char *err, size_t n)
{
	struct kq_mig_hdr h;
	if (c->secure) {
		if (read_sealed_frame(c, payload, &h, err, n) < 0)
			return -1;
		memcpy(hdr, payload->p, KQ_MIG_HDR_SIZE);
		memmove(payload->p, payload->p + KQ_MIG_HDR_SIZE, h.len);
		payload->len = h.len;
	} else {
		if (read_all(c, hdr, KQ_MIG_HDR_SIZE, "header", err, n) < 0)
			return -1;
		if (kq_mig_hdr_decode(hdr, c->rx_off, c->rx_seq, &h, err, n) < 0)
			return -1;
		kq_bytes_reset(payload);
		uint8_t *p = kq_bytes_reserve(payload, h.len ? h.len : 1);
		if (!p) {
			snprintf(err, n, "out of memory for a %u-byte payload", h.len);
			return -1;
		}
		if (read_all(c, p, h.len, kq_mig_type_name(h.type), err, n) < 0)
			return -1;
		payload->len = h.len;
	}
	frame_read(c, &h);
	return 0;
}

static int conn_src_read(void *ctx, void *dst, size_t len, char *err, size_t n)
{
	struct kq_mig_conn *c = ctx;
	return read_all(c, dst, len, c->rx_what, err, n);
}

int kq_mig_conn_recv(struct kq_mig_conn *c, struct kq_mig_recv *rx, struct kq_bytes *buf, char *err,
		     size_t n)
{
	uint8_t hdr[KQ_MIG_HDR_SIZE];
	struct kq_mig_hdr h;
	if (c->secure) { /* the payload is used where it was decrypted, after the header */
		if (read_sealed_frame(c, buf, &h, err, n) < 0)
			return -1;
		frame_read(c, &h);
		return kq_mig_recv_frame(rx, buf->p, buf->p + KQ_MIG_HDR_SIZE, h.len, err, n);
	}
	if (read_all(c, hdr, KQ_MIG_HDR_SIZE, "header", err, n) < 0 ||
	    kq_mig_hdr_decode(hdr, c->rx_off, c->rx_seq, &h, err, n) < 0)
		return -1;
	c->rx_what = kq_mig_type_name(h.type);
	struct kq_mig_src src = {conn_src_read, c};
	int r = kq_mig_recv_read(rx, hdr, &src, buf, err, n);
	frame_read(c, &h);
	return r;
}

int kq_mig_conn_read_ack(struct kq_mig_conn *c, struct kq_mig_ack *a, char *err, size_t n)
{
	uint8_t hdr[KQ_MIG_HDR_SIZE];
	struct kq_bytes p = {0};
	struct kq_mig_hdr h;
	uint64_t off = c->rx_off;
	int rc = -1;
	if (kq_mig_conn_read(c, hdr, &p, err, n) < 0)
		goto out;
	kq_mig_hdr_decode(hdr, off, c->rx_seq - 1, &h, err, n);
	if (kq_mig_payload_verify(hdr, &h, p.p, off, err, n) < 0)
		goto out;
	char fname[48];
	kq_mig_frame_name(fname, sizeof(fname), &h);
	struct kq_rd r;
	kq_rd_init(&r, p.p, p.len, off + KQ_MIG_HDR_SIZE, fname, err, n);
	if (h.type == KQ_MF_ABORT) {
		char msg[KQ_MIG_MSG_MAX];
		if (kq_mig_abort_decode(&r, msg, sizeof(msg)) == 0)
			snprintf(err, n, "the destination aborted: %s", msg);
		goto out;
	}
	if (h.type != KQ_MF_ACK) {
		snprintf(err, n, "%s byte %llu: field type: expected an ACK", fname,
			 (unsigned long long)off + 6);
		goto out;
	}
	rc = kq_mig_ack_decode(&r, a);
out:
	kq_bytes_free(&p);
	return rc;
}
