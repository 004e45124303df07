/* The migration transport over loopback TCP: frames in the clear and sealed
 * with a shared key, the key file's mode, and peers refused without the key. */
#include "migration-bench/transport.h"
#include "tests/tap.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct listener {
	int lfd;
	const uint8_t *key;
	int rc;
	char err[512];
	struct kq_bytes got;
	uint32_t frames;
};

static void *listen_thread(void *arg)
{
	struct listener *l = arg;
	struct kq_mig_conn c;
	l->rc = kq_mig_accept(l->lfd, l->key, 5, &c, l->err, sizeof(l->err));
	if (l->rc < 0)
		return NULL;
	uint8_t hdr[KQ_MIG_HDR_SIZE];
	struct kq_bytes p = {0};
	while ((l->rc = kq_mig_conn_read(&c, hdr, &p, l->err, sizeof(l->err))) == 0) {
		kq_bytes_put(&l->got, p.p, p.len);
		l->frames++;
		if (hdr[6] == KQ_MF_COMPLETE)
			break;
	}
	if (l->rc == 0) {
		struct kq_bytes a = {0};
		struct kq_mig_ack ack = {.phase = KQ_MIG_ACK_RUNNING, .value = l->frames};
		kq_mig_ack_put(&a, &ack);
		l->rc = kq_mig_conn_send_frame(&c, KQ_MF_ACK, a.p, (uint32_t)a.len, l->err,
					       sizeof(l->err));
		kq_bytes_free(&a);
	}
	kq_bytes_free(&p);
	kq_mig_conn_close(&c);
	return NULL;
}

static int exchange(const uint8_t *lkey, const uint8_t *skey, char *serr, size_t n,
		    struct listener *l)
{
	int port;
	memset(l, 0, sizeof(*l));
	l->lfd = kq_mig_listen("127.0.0.1:0", &port, serr, n);
	l->key = lkey;
	pthread_t th;
	pthread_create(&th, NULL, listen_thread, l);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	struct kq_mig_conn c;
	int rc = kq_mig_connect(addr, skey, 5, &c, serr, n);
	if (rc == 0) {
		uint8_t big[100000];
		for (size_t i = 0; i < sizeof(big); i++)
			big[i] = (uint8_t)(i * 7);
		rc = kq_mig_conn_send_frame(&c, KQ_MF_STATE, big, sizeof(big), serr, n);
		if (rc == 0)
			rc = kq_mig_conn_send_frame(&c, KQ_MF_COMPLETE, "end", 3, serr, n);
		struct kq_mig_ack a;
		if (rc == 0)
			rc = kq_mig_conn_read_ack(&c, &a, serr, n);
		if (rc == 0 && a.value != 2)
			rc = -1;
		kq_mig_conn_close(&c);
	}
	pthread_join(th, NULL);
	close(l->lfd);
	return rc;
}

int main(void)
{
	char err[512];
	struct listener l;
	uint8_t k1[32], k2[32];
	char path[] = "/tmp/kq-mig-keyXXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0 && write(fd, "a shared secret of some length\n", 31) == 31, "key file written");
	close(fd);
	chmod(path, 0644);
	is_int(kq_mig_key_load(path, k1, err, sizeof(err)), -1, "a 0644 key file is refused");
	has_substr(err, "mode 0644", "the message names the mode");
	chmod(path, 0600);
	is_int(kq_mig_key_load(path, k1, err, sizeof(err)), 0, "a 0600 key file loads");
	unlink(path);
	memcpy(k2, k1, 32);
	k2[0] ^= 1;

	struct sockaddr_storage ss;
	socklen_t sl;
	bool lo;
	ok(kq_mig_addr_parse("127.0.0.5:80", &ss, &sl, &lo, err, sizeof(err)) == 0 && lo,
	   "127.0.0.5 is loopback");
	ok(kq_mig_addr_parse("198.18.0.1:80", &ss, &sl, &lo, err, sizeof(err)) == 0 && !lo,
	   "198.18.0.1 is not loopback");
	ok(kq_mig_addr_parse("[::1]:9", &ss, &sl, &lo, err, sizeof(err)) == 0 && lo,
	   "[::1] is loopback");
	is_int(kq_mig_addr_parse("127.0.0.1:99999", &ss, &sl, &lo, err, sizeof(err)), -1,
	       "port out of range refused");

	is_int(exchange(NULL, NULL, err, sizeof(err), &l), 0, "plain frames exchanged (%s)", err);
	is_int(l.rc, 0, "listener read every frame (%s)", l.err);
	ok(l.got.len == 100003 && l.got.p[99999] == (uint8_t)(99999 * 7), "payload intact");
	kq_bytes_free(&l.got);

	is_int(exchange(k1, k1, err, sizeof(err), &l), 0, "sealed frames exchanged (%s)", err);
	is_int(l.rc, 0, "listener read every sealed frame (%s)", l.err);
	ok(l.got.len == 100003 && l.got.p[99999] == (uint8_t)(99999 * 7), "sealed payload intact");
	kq_bytes_free(&l.got);

	is_int(exchange(k1, k2, err, sizeof(err), &l), -1, "a sender with the wrong key fails");
	has_substr(err, "authentication failed", "the sender says why");
	ok(l.rc == -1 && l.frames == 0, "the listener read no frame");
	kq_bytes_free(&l.got);

	is_int(exchange(k1, NULL, err, sizeof(err), &l), -1, "a sender without a key fails");
	ok(l.rc == -1 && l.frames == 0, "the keyed listener read no frame");
	has_substr(l.err, "peer refused before any state was read", "and says so (%s)", l.err);
	has_substr(l.err, "the peer sends in the clear", "naming why");
	kq_bytes_free(&l.got);

	is_int(exchange(NULL, k1, err, sizeof(err), &l), -1,
	       "a keyed sender to a plain listener fails");
	ok(l.frames == 0, "the plain listener took no frame");
	has_substr(l.err, "seals its stream with a key", "the plain listener says why (%s)", l.err);
	kq_bytes_free(&l.got);
	return done_testing();
}
