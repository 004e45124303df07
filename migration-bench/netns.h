/* Two network namespaces joined by a veth pair (198.18.0.1 and 198.18.0.2,
 * in 198.18.0.0/15, the benchmarking range), shaped with tc: a tbf rate
 * under a netem delay on both ends. Made with iproute2 (`ip`, `tc`); named
 * kqmig-PID-s and kqmig-PID-d, so a later run removes what a killed one left
 * (kq_netns_sweep); removed on exit and on SIGINT, SIGTERM and SIGHUP. */
#ifndef KQ_MIG_NETNS_H
#define KQ_MIG_NETNS_H

#include <stdbool.h>
#include <stddef.h>

#define KQ_NETNS_PREFIX	  "kqmig-"
#define KQ_NETNS_SRC_ADDR "198.18.0.1"
#define KQ_NETNS_DST_ADDR "198.18.0.2"

struct kq_netns {
	char src[32], dst[32]; /* namespace names */
	char ifs[16], ifd[16]; /* the veth ends */
	bool made;
};

/* 0 when this process can make them (root, ip and tc present), else -1 with
 * the reason for a SKIP. */
int kq_netns_available(char *why, size_t n);
/* Removes namespaces named with the prefix whose process is gone. */
void kq_netns_sweep(void);
int kq_netns_create(struct kq_netns *ns, char *err, size_t n);
/* rate in Mbit/s on both veth ends, delay in ms (one way). */
int kq_netns_shape(struct kq_netns *ns, double mbit, double delay_ms, char *err, size_t n);
void kq_netns_destroy(struct kq_netns *ns);
/* In a child process: moves into the namespace. */
int kq_netns_enter(const char *name, char *err, size_t n);

#endif
