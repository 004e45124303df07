/* The memory stream's throughput against raw loopback TCP (streambench.c). */
#ifndef KQ_MIG_STREAMBENCH_H
#define KQ_MIG_STREAMBENCH_H

#include <stddef.h>
#include <stdint.h>

struct kq_mig_stream_bench_opts {
	uint64_t size;	    /* bytes of memory streamed (and sent raw) */
	const uint8_t *key; /* also measure the keyed stream; NULL: not */
};

struct kq_mig_stream_bench {
	uint64_t bytes;
	double raw_Bps, raw2_Bps; /* raw TCP before and after the streams */
	double stream_fresh_Bps;  /* page bytes/s into fresh destination memory */
	double stream_warm_Bps;	  /* into memory already populated */
	double stream_wire_Bps;	  /* frame bytes/s of the warm run */
	double keyed_Bps;	  /* keyed, fresh memory; 0 when not measured */
};

int kq_mig_stream_bench(const struct kq_mig_stream_bench_opts *o, struct kq_mig_stream_bench *b,
			char *err, size_t n);

#endif
