/* `kvmqual migrate listen|send`: the two ends of a live migration. */
#include "migration-bench/guest_abi.h"
#include "migration-bench/mig.h"
#include "migration-bench/opts.h"
#include "migration-bench/report.h"
#include "migration-bench/streambench.h"
#include "migration-bench/transport.h"
#include "core/exit_codes.h"
#include "core/parse.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: kvmqual migrate listen [--addr HOST:PORT] [--key FILE] [--timeout S]\n"
	    "                              [--mem-limit BYTES] [--run-after S]\n"
	    "       kvmqual migrate send --to HOST:PORT [--key FILE] --workload NAME [options]\n"
	    "       kvmqual migrate stream-bench [--mem SIZE] [--key FILE] [--json FILE]\n"
	    "       kvmqual migrate sweep [--bandwidths MBIT,..] [--rates PAGES/S,..] [options]\n"
	    "\n"
	    "Moves a running micro-VM between two kvmqual processes (pre-copy).\n"
	    "listen waits on 127.0.0.1:4444 by default. A non-loopback address (listen's\n"
	    "--addr, send's --to) requires --key FILE: a shared secret of at least 16 bytes\n"
	    "in a file of mode 0600 (checked). With a key the stream is authenticated and\n"
	    "encrypted (libsodium crypto_secretstream, XChaCha20-Poly1305) and a peer\n"
	    "without the key is refused before any state is read. Without a key the\n"
	    "stream is in the clear: use it on loopback or a trusted link only.\n"
	    "\n"
	    "send options:\n"
	    "  --workload idle|dirty|verify   guest workload on vCPU 0 (vCPU 1: heartbeat)\n"
	    "  --rate PAGES/S      pages the workload writes per second (0: flat out)\n"
	    "  --pattern seq|random|hot  --hot PAGES   dirtier pattern and hot-set size\n"
	    "  --mem SIZE          guest test memory (default 64M)\n"
	    "  --dirty bitmap-manual|bitmap|ring  dirty tracking (default bitmap-manual)\n"
	    "  --downtime-ms MS    downtime limit (default 300)\n"
	    "  --max-iters N --max-time S   non-convergence verdict (default 30, 30 s)\n"
	    "  --zstd              compress page runs   --auto-converge  throttle the guest\n"
	    "  --fault truncate|corrupt-page|corrupt-state|wrong-version   (tests)\n"
	    "  --json FILE         write the measurements as JSON\n"
	    "\n"
	    "stream-bench measures, without KVM and in one run, raw loopback TCP and the\n"
	    "migration's memory stream (its own frame, checksum and page code) carrying\n"
	    "SIZE bytes (default 1G) of pages that all hold data, into fresh and into\n"
	    "populated destination memory, and keyed with --key.\n");
}

static int parse_key(const char *file, uint8_t key[KQ_MIG_KEY_BYTES])
{
	char err[512];
	if (kq_mig_key_load(file, key, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate: %s\n", err);
		return -1;
	}
	return 0;
}

static int need_key(const char *addr, const char *keyfile)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool lo;
	char err[256];
	if (kq_mig_addr_parse(addr, &ss, &len, &lo, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate: %s\n", err);
		return -1;
	}
	if (!lo && !keyfile) {
		fprintf(stderr,
			"kvmqual migrate: %s is not a loopback address: --key FILE is "
			"required off loopback\n",
			addr);
		return -1;
	}
	return 0;
}

static int cmd_listen(int argc, char **argv)
{
	struct kq_mig_listen_opts o = {
	    .addr = "127.0.0.1:4444", .timeout_s = 60, .run_after_s = 0.3, .listen_fd = -1};
	const char *keyfile = NULL;
	static const struct option opts[] = {{"addr", 1, 0, 'a'},
					     {"key", 1, 0, 'k'},
					     {"timeout", 1, 0, 't'},
					     {"mem-limit", 1, 0, 'm'},
					     {"run-after", 1, 0, 'r'},
					     {"help", 0, 0, 'h'},
					     {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o.addr = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 't':
			if (kq_mig_opt_double("listen", "--timeout", optarg, 0.001, 86400,
					      &o.timeout_s) < 0)
				return 2;
			break;
		case 'm': /* 0: no limit */
			if (kq_mig_opt_size("listen", "--mem-limit", optarg, 0, UINT64_MAX,
					    &o.mem_limit) < 0)
				return 2;
			break;
		case 'r':
			if (kq_mig_opt_double("listen", "--run-after", optarg, 0, 3600,
					      &o.run_after_s) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	uint8_t key[KQ_MIG_KEY_BYTES];
	if (need_key(o.addr, keyfile) < 0 || (keyfile && parse_key(keyfile, key) < 0))
		return 2;
	o.key = keyfile ? key : NULL;
	char err[1024];
	if (kq_mig_receive(&o, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate listen: discarded the incoming VM: %s\n", err);
		return 1;
	}
	fprintf(stderr, "kvmqual migrate listen: the guest ran here and finished\n");
	return 0;
}

int kq_mig_parse_send(int argc, char **argv, struct kq_mig_send_opts *o, const char **json,
		      uint8_t key[KQ_MIG_KEY_BYTES]);
int kq_mig_parse_send(int argc, char **argv, struct kq_mig_send_opts *o, const char **json,
		      uint8_t key[KQ_MIG_KEY_BYTES])
{
	*o = (struct kq_mig_send_opts){.wl = {.vcpus = 2, .test_mem = 64 << 20},
				       .dirty = KQ_DIRTY_BITMAP_MANUAL,
				       .downtime_ms = 300,
				       .max_iters = 30,
				       .max_time_s = 30,
				       .warmup_s = 0.2,
				       .run_after_s = 0.3};
	const char *keyfile = NULL, *wl = NULL;
	static const struct option opts[] = {{"to", 1, 0, 'T'},
					     {"key", 1, 0, 'k'},
					     {"workload", 1, 0, 'w'},
					     {"rate", 1, 0, 'r'},
					     {"pattern", 1, 0, 'p'},
					     {"hot", 1, 0, 'H'},
					     {"mem", 1, 0, 'm'},
					     {"dirty", 1, 0, 'd'},
					     {"downtime-ms", 1, 0, 'D'},
					     {"max-iters", 1, 0, 'i'},
					     {"max-time", 1, 0, 't'},
					     {"zstd", 0, 0, 'z'},
					     {"auto-converge", 0, 0, 'A'},
					     {"fault", 1, 0, 'f'},
					     {"json", 1, 0, 'j'},
					     {"help", 0, 0, 'h'},
					     {0, 0, 0, 0}};
	int c;
	optind = 1;
	*json = NULL;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			o->to = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'w':
			wl = optarg;
			break;
		case 'r': /* 0: flat out */
			if (kq_mig_opt_u64("send", "--rate", optarg, 0, UINT32_MAX, &o->wl.rate) <
			    0)
				return 2;
			break;
		case 'p': {
			static const char *const patterns[] = {[KQ_MIG_SEQ] = "seq",
							       [KQ_MIG_RANDOM] = "random",
							       [KQ_MIG_HOTSET] = "hot",
							       NULL};
			int i;
			if (kq_mig_opt_word("send", "--pattern", optarg, patterns, &i) < 0)
				return 2;
			o->wl.pattern = (uint64_t)i;
			break;
		}
		case 'H':
			if (kq_mig_opt_u64("send", "--hot", optarg, 0, UINT32_MAX, &o->wl.hot) < 0)
				return 2;
			break;
		case 'm': {
			uint64_t v;
			if (kq_parse_size(optarg, &v) < 0) {
				fprintf(stderr, "kvmqual migrate send: --mem '%s' is not a size\n",
					optarg);
				return 2;
			}
			o->wl.test_mem = v;
			break;
		}
		case 'd': {
			int m = kq_dirty_mode_parse(optarg);
			if (m < 0) {
				fprintf(stderr, "kvmqual migrate send: --dirty '%s' unknown\n",
					optarg);
				return 2;
			}
			o->dirty = (enum kq_dirty_mode)m;
			break;
		}
		case 'D':
			if (kq_mig_opt_double("send", "--downtime-ms", optarg, 0.001, 3.6e6,
					      &o->downtime_ms) < 0)
				return 2;
			break;
		case 'i': {
			uint64_t n;
			if (kq_mig_opt_u64("send", "--max-iters", optarg, 1, KQ_MIG_MAX_ITERS, &n) <
			    0)
				return 2;
			o->max_iters = (int)n;
			break;
		}
		case 't':
			if (kq_mig_opt_double("send", "--max-time", optarg, 0.001, 86400,
					      &o->max_time_s) < 0)
				return 2;
			break;
		case 'z':
			o->zstd = true;
			break;
		case 'A':
			o->auto_converge = true;
			break;
		case 'f': {
			static const char *const faults[] = {
			    [KQ_FAULT_NONE] = "none",
			    [KQ_FAULT_TRUNCATE] = "truncate",
			    [KQ_FAULT_CORRUPT_PAGE] = "corrupt-page",
			    [KQ_FAULT_CORRUPT_STATE] = "corrupt-state",
			    [KQ_FAULT_WRONG_VERSION] = "wrong-version",
			    NULL};
			int i;
			if (kq_mig_opt_word("send", "--fault", optarg, faults, &i) < 0)
				return 2;
			o->fault = (enum kq_mig_fault)i;
			break;
		}
		case 'j':
			*json = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!o->to || !wl) {
		fprintf(stderr, "kvmqual migrate send: --to and --workload are required\n");
		return 2;
	}
	o->wl.mode = !strcmp(wl, "dirty")    ? KQ_MIG_DIRTY
		     : !strcmp(wl, "verify") ? KQ_MIG_VERIFY
		     : !strcmp(wl, "idle")   ? KQ_MIG_IDLE
					     : -1;
	if (o->wl.mode < 0) {
		fprintf(stderr, "kvmqual migrate send: --workload '%s': idle, dirty or verify\n",
			wl);
		return 2;
	}
	if (need_key(o->to, keyfile) < 0 || (keyfile && parse_key(keyfile, key) < 0))
		return 2;
	o->key = keyfile ? key : NULL;
	return 0;
}

static int cmd_send(int argc, char **argv)
{
	struct kq_mig_send_opts o;
	const char *json;
	uint8_t key[KQ_MIG_KEY_BYTES];
	int rc = kq_mig_parse_send(argc, argv, &o, &json, key);
	if (rc)
		return rc == 1 ? 0 : rc;
	struct kq_mig_send_result *r = calloc(1, sizeof(*r));
	if (!r)
		return 1;
	kq_mig_send(&o, r);
	kq_mig_print(stdout, r);
	rc = r->status == 0 && r->guest_ok && r->verifier_errors == 0 ? 0 : 1;
	char err[1024];
	if (json && kq_mig_write_json(json, r, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate send: %s\n", err);
		rc = KQ_EXIT_OUTPUT;
	}
	free(r);
	return rc;
}

static int cmd_stream_bench(int argc, char **argv)
{
	struct kq_mig_stream_bench_opts o = {.size = 1ULL << 30};
	const char *keyfile = NULL, *json = NULL;
	static const struct option opts[] = {{"mem", 1, 0, 'm'},
					     {"key", 1, 0, 'k'},
					     {"json", 1, 0, 'j'},
					     {"help", 0, 0, 'h'},
					     {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (kq_parse_size(optarg, &o.size) < 0 || o.size < KQ_MIG_PAGE ||
			    o.size % KQ_MIG_PAGE) {
				fprintf(stderr,
					"kvmqual migrate stream-bench: --mem '%s' is not a size in "
					"whole pages\n",
					optarg);
				return 2;
			}
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	uint8_t key[KQ_MIG_KEY_BYTES];
	if (keyfile && parse_key(keyfile, key) < 0)
		return 2;
	o.key = keyfile ? key : NULL;
	struct kq_mig_stream_bench b;
	char err[512];
	if (kq_mig_stream_bench(&o, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "kvmqual migrate stream-bench: %s\n", err);
		return 1;
	}
	double raw = (b.raw_Bps + b.raw2_Bps) / 2;
	printf("stream bench: %llu bytes over loopback TCP\n", (unsigned long long)b.bytes);
	printf("  raw TCP              %8.1f MB/s (before %.1f, after %.1f)\n", raw / 1e6,
	       b.raw_Bps / 1e6, b.raw2_Bps / 1e6);
	printf("  stream, fresh memory %8.1f MB/s  %5.1f %% of raw TCP\n", b.stream_fresh_Bps / 1e6,
	       100 * b.stream_fresh_Bps / raw);
	printf("  stream, warm memory  %8.1f MB/s  %5.1f %% of raw TCP (wire %.1f MB/s)\n",
	       b.stream_warm_Bps / 1e6, 100 * b.stream_warm_Bps / raw, b.stream_wire_Bps / 1e6);
	if (o.key)
		printf("  keyed, fresh memory  %8.1f MB/s  %5.1f %% of raw TCP\n",
		       b.keyed_Bps / 1e6, 100 * b.keyed_Bps / raw);
	if (json) {
		json_t *j = json_pack(
		    "{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "bytes", (json_int_t)b.bytes,
		    "raw_tcp_MBps", raw / 1e6, "raw_tcp_before_MBps", b.raw_Bps / 1e6,
		    "raw_tcp_after_MBps", b.raw2_Bps / 1e6, "stream_fresh_MBps",
		    b.stream_fresh_Bps / 1e6, "stream_warm_MBps", b.stream_warm_Bps / 1e6,
		    "stream_wire_MBps", b.stream_wire_Bps / 1e6, "keyed_MBps", b.keyed_Bps / 1e6);
		char err[1024];
		int r = kq_mig_save_json(json, j, err, sizeof(err));
		json_decref(j);
		if (r < 0) {
			fprintf(stderr, "kvmqual migrate stream-bench: %s\n", err);
			return KQ_EXIT_OUTPUT;
		}
	}
	return 0;
}

int kq_mig_sweep_main(int argc, char **argv); /* sweep_cmd.c */

int kq_migrate_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "listen"))
		return cmd_listen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(argv[1], "sweep"))
		return kq_mig_sweep_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stream-bench"))
		return cmd_stream_bench(argc - 1, argv + 1);
	fprintf(stderr, "kvmqual migrate: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
