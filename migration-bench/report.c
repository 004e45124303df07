/* A migration's measurements as text, JSON and result metrics. */
#include "migration-bench/report.h"
#include "core/outfile.h"

#include <stdlib.h>
#include <string.h>

static const char *status_name(int s)
{
	return s == 0 ? "migrated" : s == 1 ? "did-not-converge" : "failed";
}

void kq_mig_print(FILE *f, const struct kq_mig_send_result *r)
{
	fprintf(f, "migration: %s%s%s\n", status_name(r->status), r->reason[0] ? ": " : "",
		r->reason);
	fprintf(f, "  total %.3f s, setup %.3f s, %d iterations, fixed cost %.2f ms\n", r->total_s,
		r->setup_s, r->iters, r->fixed_cost_ms);
	for (int i = 0; i < r->iters; i++)
		fprintf(f,
			"  iter %d: %llu pages, %llu bytes, %.1f ms, %.1f MB/s, dirtied %llu "
			"(%.0f/s)\n",
			i, (unsigned long long)r->it[i].pages,
			(unsigned long long)r->it[i].wire_bytes, r->it[i].seconds * 1e3,
			r->it[i].bandwidth_Bps / 1e6, (unsigned long long)r->it[i].dirty_pages,
			r->it[i].dirty_rate_pps);
	if (r->status == 0)
		fprintf(
		    f,
		    "  downtime (host) %.2f ms = pause %.2f + final pass %.2f + state save %.2f + "
		    "transfer %.2f + state load %.2f + hash wait %.2f + resume %.2f\n"
		    "  downtime (guest heartbeat) %.2f ms; memory hash %.2f ms, beside the "
		    "final pass and the state\n",
		    r->downtime_ms, r->pause_ms, r->final_pass_ms, r->state_save_ms, r->transfer_ms,
		    r->state_load_ms, r->hash_wait_ms, r->resume_ms, r->guest_gap_ms, r->hash_ms);
	else
		fprintf(f, "  source resumed: %s; its heartbeat's largest gap %.2f ms\n",
			r->source_resumed ? "yes" : "no", r->source_gap_ms);
	fprintf(f,
		"  pages sent %llu (zero %llu, resent %llu), %llu bytes on the wire, "
		"compression %.2f\n",
		(unsigned long long)r->pages_sent, (unsigned long long)r->zero_pages,
		(unsigned long long)r->pages_resent, (unsigned long long)r->wire_bytes,
		r->compression_ratio);
	if (r->verifier_ran)
		fprintf(f, "  verifier: %llu writes, %llu errors\n",
			(unsigned long long)r->verifier_writes,
			(unsigned long long)r->verifier_errors);
	fprintf(f, "  memory hash %016llx; guest finished: %s\n", (unsigned long long)r->mem_hash,
		r->guest_ok ? "yes" : "no");
}

/* Frame bytes over the time of the pre-copy passes (the final one included). */
static double throughput_MBps(const struct kq_mig_send_result *r)
{
	double bytes = 0, secs = 0;
	for (int i = 0; i < r->iters; i++) {
		bytes += (double)r->it[i].wire_bytes;
		secs += r->it[i].seconds;
	}
	return secs > 0 ? bytes / secs / 1e6 : 0;
}

json_t *kq_mig_json(const struct kq_mig_send_result *r)
{
	json_t *its = json_array();
	for (int i = 0; i < r->iters; i++)
		json_array_append_new(
		    its, json_pack("{s:I,s:I,s:I,s:f,s:f,s:f}", "pages", (json_int_t)r->it[i].pages,
				   "wire_bytes", (json_int_t)r->it[i].wire_bytes, "dirty_pages",
				   (json_int_t)r->it[i].dirty_pages, "seconds", r->it[i].seconds,
				   "bandwidth_Bps", r->it[i].bandwidth_Bps, "dirty_rate_pps",
				   r->it[i].dirty_rate_pps));
	json_t *j = json_pack(
	    "{s:s,s:s,s:f,s:f,s:i,s:o,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:I,s:I,s:I,"
	    "s:I,s:f,s:I,s:b,"
	    "s:b}",
	    "status", status_name(r->status), "reason", r->reason, "total_s", r->total_s, "setup_s",
	    r->setup_s, "iterations", r->iters, "iteration", its, "downtime_ms", r->downtime_ms,
	    "final_pass_ms", r->final_pass_ms, "state_save_ms", r->state_save_ms, "transfer_ms",
	    r->transfer_ms, "state_load_ms", r->state_load_ms, "resume_ms", r->resume_ms, "hash_ms",
	    r->hash_ms, "hash_wait_ms", r->hash_wait_ms, "guest_downtime_ms",
	    r->status == 0 ? r->guest_gap_ms : r->source_gap_ms, "pages_sent",
	    (json_int_t)r->pages_sent, "zero_pages", (json_int_t)r->zero_pages, "pages_resent",
	    (json_int_t)r->pages_resent, "wire_bytes", (json_int_t)r->wire_bytes,
	    "compression_ratio", r->compression_ratio, "verifier_errors",
	    (json_int_t)r->verifier_errors, "source_resumed", r->source_resumed, "guest_ok",
	    r->guest_ok);
	if (j) {
		json_object_set_new(j, "throughput_MBps", json_real(throughput_MBps(r)));
		json_object_set_new(j, "writes_at_pause",
				    json_integer((json_int_t)r->writes_at_pause));
		json_object_set_new(j, "writes_at_track",
				    json_integer((json_int_t)r->writes_at_track));
		json_object_set_new(j, "pause_ms", json_real(r->pause_ms));
	}
	return j;
}

int kq_mig_save_json(const char *path, json_t *j, char *err, size_t errlen)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	if (!text) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = kq_outfile_save(path, text, strlen(text), err, errlen);
	free(text);
	return rc;
}

int kq_mig_write_json(const char *path, const struct kq_mig_send_result *r, char *err,
		      size_t errlen)
{
	json_t *j = kq_mig_json(r);
	int rc = kq_mig_save_json(path, j, err, errlen);
	json_decref(j);
	return rc;
}

static void val(struct kq_result *res, const char *name, const char *unit, double v)
{
	kq_result_add_value(res, name, unit, v);
}

void kq_mig_add_metrics(struct kq_result *res, const struct kq_mig_send_result *r)
{
	val(res, "migration.total.s", "s", r->total_s);
	val(res, "migration.setup.s", "s", r->setup_s);
	val(res, "migration.iterations", "count", r->iters);
	if (r->status == 0) {
		val(res, "migration.downtime.ms", "ms", r->downtime_ms);
		val(res, "migration.downtime.pause.ms", "ms", r->pause_ms);
		val(res, "migration.downtime.final_pass.ms", "ms", r->final_pass_ms);
		val(res, "migration.downtime.state_save.ms", "ms", r->state_save_ms);
		val(res, "migration.downtime.transfer.ms", "ms", r->transfer_ms);
		val(res, "migration.downtime.hash_wait.ms", "ms", r->hash_wait_ms);
		val(res, "migration.hash.ms", "ms", r->hash_ms);
		val(res, "migration.downtime.state_load.ms", "ms", r->state_load_ms);
		val(res, "migration.downtime.resume.ms", "ms", r->resume_ms);
		val(res, "migration.guest_downtime.ms", "ms", r->guest_gap_ms);
	}
	val(res, "migration.pages_sent", "pages", (double)r->pages_sent);
	val(res, "migration.zero_pages", "pages", (double)r->zero_pages);
	val(res, "migration.pages_resent", "pages", (double)r->pages_resent);
	val(res, "migration.compression_ratio", "ratio", r->compression_ratio);
	if (r->iters)
		val(res, "migration.throughput.MBps", "MB/s", throughput_MBps(r));
	kq_result_set_evidence(res, "migration", kq_mig_json(r));
}
