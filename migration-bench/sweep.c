/* The shaped-link sweep: for every link bandwidth, the veth pair between
 * the source's and the destination's namespaces is shaped (tbf rate under a
 * netem delay), then for every dirty rate a destination process in its
 * namespace receives a dirtier guest from a source process in the other,
 * keyed (the link is not loopback). A cell that does not converge is data,
 * marked, not a failure. The namespaces go away at the end, on a signal,
 * or, after a SIGKILL, at the next sweep (netns.c). */
#include "migration-bench/sweep.h"

#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "migration-bench/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SWEEP_PORT "4444" /* the namespaces are ours alone */

int kq_mig_sweep_list(const char *s, double *v, int *n)
{
	*n = 0;
	while (*s) {
		char *end;
		double x = strtod(s, &end);
		if (end == s || x <= 0 || *n == KQ_SWEEP_MAX || (*end && *end != ','))
			return -1;
		v[(*n)++] = x;
		s = *end ? end + 1 : end;
	}
	return *n ? 0 : -1;
}

static bool missing_capability(const char *err)
{
	return strstr(err, "Unknown device type") || strstr(err, "qdisc not found") ||
	       strstr(err, "Unknown qdisc") || strstr(err, "kind is unknown") ||
	       strstr(err, "Operation not supported") || strstr(err, "not found");
}

static pid_t child_dest(const struct kq_netns *ns, const uint8_t *key)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char err[1024];
	struct kq_mig_listen_opts lo = {.addr = KQ_NETNS_DST_ADDR ":" SWEEP_PORT,
					.key = key,
					.timeout_s = 120,
					.run_after_s = 0.2,
					.listen_fd = -1};
	if (kq_netns_enter(ns->dst, err, sizeof(err)) < 0 ||
	    kq_mig_receive(&lo, err, sizeof(err)) < 0) {
		fprintf(stderr, "sweep destination: %s\n", err);
		_exit(1);
	}
	_exit(0);
}

/* The source in its namespace; its result comes back through a pipe. */
static int run_source(const struct kq_netns *ns, const struct kq_mig_send_opts *so,
		      struct kq_mig_send_result *r)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		char err[512];
		memset(r, 0, sizeof(*r));
		if (kq_netns_enter(ns->src, err, sizeof(err)) < 0) {
			r->status = -1;
			snprintf(r->reason, sizeof(r->reason), "%s", err);
		} else {
			kq_mig_send(so, r);
		}
		const char *b = (const char *)r;
		for (size_t off = 0; off < sizeof(*r);) {
			ssize_t w = write(p[1], b + off, sizeof(*r) - off);
			if (w <= 0)
				_exit(1);
			off += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	while (got < sizeof(*r)) {
		ssize_t n = read(p[0], (char *)r + got, sizeof(*r) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	waitpid(pid, NULL, 0);
	return got == sizeof(*r) ? 0 : -1;
}

static void run_cell(const struct kq_mig_sweep_opts *o, const struct kq_netns *ns,
		     const uint8_t *key, struct kq_mig_sweep_cell *c, struct kq_mig_send_result *r)
{
	struct kq_mig_send_opts so = {
	    .to = KQ_NETNS_DST_ADDR ":" SWEEP_PORT,
	    .key = key,
	    .wl = {.mode = KQ_MIG_DIRTY, .rate = c->rate, .vcpus = 2, .test_mem = o->mem},
	    .dirty = KQ_DIRTY_BITMAP_MANUAL,
	    .downtime_ms = o->downtime_ms,
	    .max_iters = 30,
	    .max_time_s = o->max_time_s,
	    .warmup_s = 0.1,
	    .run_after_s = 0.2};
	pid_t d = child_dest(ns, key);
	if (d < 0 || run_source(ns, &so, r) < 0) {
		c->status = -1;
		snprintf(c->reason, sizeof(c->reason), "fork or pipe: %s", strerror(errno));
		if (d > 0)
			kill(d, SIGKILL);
	}
	int st = 0;
	if (d > 0)
		waitpid(d, &st, 0);
	if (c->status == -1 && c->reason[0])
		return;
	c->status = r->status;
	c->source_resumed = r->source_resumed;
	c->iters = r->iters;
	c->total_s = r->total_s;
	c->downtime_ms = r->downtime_ms;
	c->guest_downtime_ms = r->status == 0 ? r->guest_gap_ms : 0;
	double bytes = 0, secs = 0;
	for (int i = 0; i < r->iters; i++) {
		bytes += (double)r->it[i].wire_bytes;
		secs += r->it[i].seconds;
	}
	c->throughput_MBps = secs > 0 ? bytes / secs / 1e6 : 0;
	snprintf(c->reason, sizeof(c->reason), "%.250s", r->reason);
}

int kq_mig_sweep(const struct kq_mig_sweep_opts *o, struct kq_mig_sweep_cell *cells, bool *skip,
		 char *err, size_t n)
{
	*skip = false;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(err, n, "open /dev/kvm: %s", strerror(errno));
		*skip = true;
		return -1;
	}
	close(kvm);
	if (kq_netns_available(err, n) < 0) {
		*skip = true;
		return -1;
	}
	struct kq_netns ns;
	if (kq_netns_create(&ns, err, n) < 0) {
		*skip = missing_capability(err);
		return -1;
	}
	uint8_t key[32];
	if (sodium_init() < 0) {
		snprintf(err, n, "libsodium failed to initialise");
		kq_netns_destroy(&ns);
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	struct kq_mig_send_result *r = malloc(sizeof(*r));
	int rc = r ? 0 : -1;
	for (int b = 0; rc == 0 && b < o->nbw; b++) {
		if (kq_netns_shape(&ns, o->mbit[b], o->delay_ms, err, n) < 0) {
			*skip = missing_capability(err);
			rc = -1;
			break;
		}
		for (int k = 0; k < o->nrates; k++) {
			struct kq_mig_sweep_cell *c = &cells[b * o->nrates + k];
			memset(c, 0, sizeof(*c));
			c->mbit = o->mbit[b];
			c->rate = o->rate[k];
			run_cell(o, &ns, key, c, r);
		}
	}
	free(r);
	sodium_memzero(key, sizeof(key));
	kq_netns_destroy(&ns);
	return rc;
}

json_t *kq_mig_sweep_json(const struct kq_mig_sweep_opts *o, const struct kq_mig_sweep_cell *c)
{
	json_t *cells = json_array();
	for (int i = 0; i < o->nbw * o->nrates; i++)
		json_array_append_new(
		    cells, json_pack("{s:f,s:I,s:s,s:b,s:i,s:f,s:f,s:f,s:f,s:s}", "bandwidth_mbit",
				     c[i].mbit, "dirty_rate_pps", (json_int_t)c[i].rate, "status",
				     c[i].status == 0	? "migrated"
				     : c[i].status == 1 ? "did-not-converge"
							: "failed",
				     "converged", c[i].status == 0, "iterations", c[i].iters,
				     "total_s", c[i].total_s, "downtime_ms", c[i].downtime_ms,
				     "guest_downtime_ms", c[i].guest_downtime_ms, "throughput_MBps",
				     c[i].throughput_MBps, "reason", c[i].reason));
	return json_pack("{s:f,s:I,s:f,s:o}", "delay_ms", o->delay_ms, "mem_bytes",
			 (json_int_t)o->mem, "downtime_limit_ms", o->downtime_ms, "cells", cells);
}
