/* The TAP writer: plan, ok/not ok/SKIP lines, and YAML blocks that a YAML
 * reader accepts (checked here by shape; `prove` reads the real output). */
#include "core/result.h"
#include "core/tap.h"
#include "tests/tap.h"

#include <stdlib.h>

static char *render(json_t *t, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	kq_tap_result(f, n, t);
	fclose(f);
	return buf;
}

int main(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	kq_tap_header(f, 3);
	fclose(f);
	is_str(buf, "TAP version 13\n1..3\n", "header: version 13 and the plan");
	free(buf);

	struct kq_result r;
	kq_result_init(&r, "exit.cpuid");
	double s[] = {1, 2, 3};
	json_t *m = kq_result_add_samples(&r, "cpuid.ns", "ns", s, 3);
	json_object_set_new(json_object_get(m, "labels"), "handled_in", json_string("kernel"));
	json_object_set_new(r.obj, "duration_s", json_real(0.5));
	char *out = render(r.obj, 1);
	ok(strncmp(out, "ok 1 - exit.cpuid\n  ---\n", 24) == 0,
	   "a pass is 'ok N - name' and a YAML block");
	has_substr(out,
		   "    cpuid.ns: {unit: \"ns\", n: 3, min: 1.0, median: 2.0, mean: 2.0, p99: "
		   "2.98, stddev: 1.0, handled_in: \"kernel\"}",
		   "metric statistics and labels in one flow mapping");
	has_substr(out, "\n  ...\n", "the block is closed");
	free(out);
	kq_result_free(&r);

	/* A name repeated with different labels (scaling: one per vCPU count and
	 * vCPU) gets the labels in its key, so YAML keys stay unique. */
	kq_result_init(&r, "exit.scaling.cpuid");
	for (int vcpus = 1; vcpus <= 2; vcpus++) {
		json_t *x = kq_result_add_value(&r, "exits_per_s", "exits/s", 1000.0 * vcpus);
		json_object_set_new(json_object_get(x, "labels"), "vcpus", json_integer(vcpus));
		json_object_set_new(json_object_get(x, "labels"), "kind", json_string("cpuid"));
	}
	kq_result_add_value(&r, "startup.us", "us", 3.5);
	out = render(r.obj, 1);
	has_substr(out, "    \"exits_per_s[vcpus=1]\": {unit: \"exits/s\", value: 1000.0",
		   "a repeated name is keyed by its distinguishing labels");
	has_substr(out, "    \"exits_per_s[vcpus=2]\": {unit: \"exits/s\", value: 2000.0",
		   "the second key differs from the first");
	has_substr(out, "    startup.us: {unit: \"us\", value: 3.5",
		   "a unique name keeps its plain key");
	free(out);
	kq_result_free(&r);

	kq_result_init(&r, "exit.hlt");
	kq_result_set_status(&r, KQ_SKIP, "missing KVM capability X # really\nnext");
	out = render(r.obj, 2);
	has_substr(out, "ok 2 - exit.hlt # SKIP missing KVM capability X _ really_next\n",
		   "a skip is ok with a SKIP directive; '#' and newline cannot break the line");
	has_substr(out, "message: \"missing KVM capability X # really\\nnext\"",
		   "the full reason is kept, quoted, in the YAML");
	free(out);
	kq_result_free(&r);

	kq_result_init(&r, "exit.broken");
	kq_result_set_status(&r, KQ_FAIL, "triple fault at RIP 0x1234");
	kq_result_set_status(&r, KQ_PASS, "ignored");
	kq_result_set_status(&r, KQ_FAIL, "second failure");
	out = render(r.obj, 3);
	ok(strncmp(out, "not ok 3 - exit.broken\n", 23) == 0, "a failure is 'not ok'");
	has_substr(out, "message: \"triple fault at RIP 0x1234\"",
		   "the first failure's reason is kept");
	has_substr(out, "    - \"also:\\x20second failure\"",
		   "a later failure is kept as a diagnostic, its \": \" escaped for YAMLish lists");
	free(out);
	kq_result_free(&r);
	return done_testing();
}
