/* The memory cost tests' keys are checked when suite.conf is loaded (bad
 * input is a file:line error and nothing runs); their helpers: the counts
 * they run (1, 2, 4 .. max), the sparse pass's page choice (about an eighth,
 * seeded), the sizes they pick. */
#include "tests/tap.h"
#include "runner/conf.h"
#include "workloads/memory_costs.h"
#include "workloads/memory_costs_abi.h"

#include <stdlib.h>
#include <unistd.h>

static const char *load(const char *text, int *rc)
{
	static char path[64], errors[4096];
	static struct kq_suite s;
	snprintf(path, sizeof(path), "/tmp/kq-costconf-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return "cannot write a temporary file";
	close(fd);
	*rc = kq_suite_load(&s, path);
	snprintf(errors, sizeof(errors), "%s", s.errors);
	if (*rc == 0)
		kq_suite_free(&s);
	unlink(path);
	return errors;
}

static void bad(const char *what, const char *text, const char *want)
{
	int rc = 0;
	const char *err = load(text, &rc);
	ok(rc < 0 && strstr(err, want) != NULL, "%s: rejected with '%s'", what, want);
	if (rc == 0 || !strstr(err, want))
		printf("#   got: %s\n", err);
}

static void counts(int max, const char *want)
{
	int v[16], n = kq_costs_doublings(max, v, 16);
	char got[128] = "";
	for (int i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%d", i ? " " : "", v[i]);
	is_str(got, want, "counts up to %d", max);
}

int main(void)
{
	int rc = -1;
	const char *err =
	    load("[d]\nworkload = memory.dirty-log\nmechanism = ring\nmemory = 64M\n"
		 "max_vcpus = 4\nplanted = unrecorded\n\n[s]\nworkload = memory.slots\n"
		 "max_slots = 100\nslot_size = 4M\n\n[v]\nworkload = "
		 "memory.vm-create\nrepeats = 2\n",
		 &rc);
	ok(rc == 0, "good dirty-log, slots and vm-create sections load (%s)", err);
	bad("unknown mechanism", "[d]\nworkload = memory.dirty-log\nmechanism = pml\n",
	    ":3: [d]: mechanism = pml: one of bitmap, bitmap-manual, ring");
	bad("no iterations", "[d]\nworkload = memory.dirty-log\n\niterations = 0\n",
	    ":4: [d]: iterations = 0: from 1 to 64");
	bad("no vCPUs", "[d]\nworkload = memory.dirty-log\nmax_vcpus = 0\n",
	    ":3: [d]: max_vcpus = 0: from 1 to 256");
	bad("an unknown planted fault", "[d]\nworkload = memory.dirty-log\nplanted = yes\n",
	    ":3: [d]: planted = yes: no or unrecorded");
	bad("a ring of 1000 entries", "[d]\nworkload = memory.dirty-log\nring_entries = 1000\n",
	    ":3: [d]: ring_entries = 1000: a power of two from 64 to 65536");
	bad("a slot size off 2M", "[s]\nworkload = memory.slots\nslot_size = 3M\n",
	    ":3: [s]: slot_size = 3145728: a non-zero multiple of 2M");
	bad("no slots", "[s]\nworkload = memory.slots\nmax_slots = 0\n",
	    ":3: [s]: max_slots = 0: from 1 to 32764");
	bad("no repeats", "[v]\nworkload = memory.vm-create\nrepeats = 0\n",
	    ":3: [v]: repeats = 0: from 1 to 64");

	counts(1, "1");
	counts(2, "1 2");
	counts(6, "1 2 4 6");
	counts(256, "1 2 4 8 16 32 64 128 256");

	uint64_t picked = 0, both = 0;
	for (uint64_t p = 0; p < 100000; p++) {
		picked += kq_dirty_pick(7, p);
		both += kq_dirty_pick(7, p) && kq_dirty_pick(8, p);
	}
	ok(picked > 11500 && picked < 13500,
	   "the sparse pass picks about an eighth (%llu of 100000)", (unsigned long long)picked);
	ok(both < picked / 4, "another seed picks other pages (%llu in common)",
	   (unsigned long long)both);

	struct kq_test t = {.mem_bytes = 0};
	struct kq_run_opts quick = {.quick = true}, full = {.quick = false};
	unsetenv("KVMQUAL_ENV");
	is_int(kq_costs_memory(&t, &quick, 64ULL << 20, 1ULL << 30, 16ULL << 20), 64ULL << 20,
	       "quick: the quick size");
	ok(kq_costs_memory(&t, &full, 64ULL << 20, 1ULL << 30, 16ULL << 20) <= 1ULL << 30,
	   "full: at most 1 GiB");
	t.mem_bytes = (40ULL << 20) + 4096;
	is_int(kq_costs_memory(&t, &quick, 64ULL << 20, 1ULL << 30, 16ULL << 20), 40ULL << 20,
	       "memory set: taken, in whole 2 MiB");
	setenv("KVMQUAL_ENV", "emulated", 1);
	is_int(kq_costs_memory(&t, &full, 64ULL << 20, 1ULL << 30, 16ULL << 20), 16ULL << 20,
	       "emulated host: capped");
	return done_testing();
}
