/* The migration connection: TCP (loopback by default), carrying framed bytes
 * as they are, or with a shared key each frame as one libsodium
 * crypto_secretstream message (XChaCha20-Poly1305), after a handshake in
 * which each side proves it holds the key; a peer without it is refused
 * before any frame is read. */
#ifndef KQ_MIG_TRANSPORT_H
#define KQ_MIG_TRANSPORT_H

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "migration-bench/proto.h"

#define KQ_MIG_KEY_BYTES 32

struct kq_mig_conn {
	int fd;
	bool secure;
	crypto_secretstream_xchacha20poly1305_state tx, rx;
	struct kq_bytes cbuf;	       /* ciphertext staging */
	uint64_t wire_sent, wire_recv; /* bytes on the socket */
	uint64_t rx_off;	       /* stream offset of the next frame read */
	uint32_t rx_seq, tx_seq;       /* frames read and written */
	const char *rx_what;	       /* the frame being read, for messages */
};

/* Reads a key file: any secret of at least 16 bytes, hashed to 32 (BLAKE2b).
 * Refuses a file that group or others may read or write (mode must be 0600
 * or stricter) and names the mode. */
int kq_mig_key_load(const char *path, uint8_t key[KQ_MIG_KEY_BYTES], char *err, size_t n);
/* Parses "HOST:PORT" (IPv4, or [IPv6]:PORT); *loopback tells whether the
 * address is a loopback one (127.0.0.0/8, ::1). */
int kq_mig_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *loopback,
		      char *err, size_t n);

/* Brings the loopback interface up where it is down (a fresh network
 * namespace, the emulated host's minimal init); 0 when it is up. */
int kq_mig_loopback_up(char *err, size_t n);
/* Listening socket on addr (port 0: any); *port gets the port bound. */
int kq_mig_listen(const char *addr, int *port, char *err, size_t n);
/* Accepts one peer within timeout_s and runs the handshake when key is set. */
int kq_mig_accept(int lfd, const uint8_t *key, double timeout_s, struct kq_mig_conn *c, char *err,
		  size_t n);
int kq_mig_connect(const char *addr, const uint8_t *key, double timeout_s, struct kq_mig_conn *c,
		   char *err, size_t n);
void kq_mig_conn_close(struct kq_mig_conn *c);
/* A receive limit for every later read: a silent peer fails after it. */
int kq_mig_conn_timeout(struct kq_mig_conn *c, double seconds);

/* Sends whole frames (one or more back to back, as kq_mig_frame_put made
 * them); renumbers nothing. */
int kq_mig_conn_send(struct kq_mig_conn *c, const uint8_t *frames, size_t len, char *err, size_t n);
/* Builds and sends one frame with the next sequence number. */
int kq_mig_conn_send_frame(struct kq_mig_conn *c, uint16_t type, const void *payload, uint32_t len,
			   char *err, size_t n);
/* Reads one whole frame: header into hdr, payload into *payload (resized).
 * The header is checked (kq_mig_hdr_decode); the payload's checksum is left
 * to the reader of the record. A closed or silent peer is an error naming
 * the stream offset. */
int kq_mig_conn_read(struct kq_mig_conn *c, uint8_t hdr[KQ_MIG_HDR_SIZE], struct kq_bytes *payload,
		     char *err, size_t n);
/* Reads one frame into the destination's reader rx: in the clear through
 * kq_mig_recv_read (page data straight into slot memory), keyed as one
 * sealed message into buf. Returns as kq_mig_recv_frame. */
struct kq_mig_recv;
int kq_mig_conn_recv(struct kq_mig_conn *c, struct kq_mig_recv *rx, struct kq_bytes *buf, char *err,
		     size_t n);
/* Reads one frame and decodes it as an ACK (or reports an ABORT). */
int kq_mig_conn_read_ack(struct kq_mig_conn *c, struct kq_mig_ack *a, char *err, size_t n);

#endif
