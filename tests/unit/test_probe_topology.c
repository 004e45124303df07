/* CPU placement over synthetic and recorded hwloc topologies. */
#include "probes/topology.h"
#include "tests/tap.h"
#include "tests/unit/test_probe_fixture.h"

#include <errno.h>
#include <unistd.h>

static hwloc_topology_t synthetic(const char *desc)
{
	hwloc_topology_t t;
	hwloc_topology_init(&t);
	if (hwloc_topology_set_synthetic(t, desc) < 0 || hwloc_topology_load(t) < 0) {
		printf("# cannot build synthetic topology %s\n", desc);
		exit(1);
	}
	return t;
}

/* Picks and prints the CPUs as "a,b,c", or "ENOENT"/"EINVAL". */
static const char *pick(hwloc_topology_t t, hwloc_const_cpuset_t allowed, const char *policy, int n)
{
	static char buf[512];
	int cpus[64];
	errno = 0;
	if (kq_topology_pick_cpus_in(t, allowed, policy, n, cpus) < 0) {
		snprintf(buf, sizeof(buf), "%s",
			 errno == ENOENT   ? "ENOENT"
			 : errno == EINVAL ? "EINVAL"
					   : "error");
		return buf;
	}
	size_t w = 0;
	for (int i = 0; i < n; i++)
		w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%d", i ? "," : "", cpus[i]);
	return buf;
}

static void two_sockets(void)
{
	/* 2 packages x 2 L3 x 2 cores x 2 threads, OS indices in order */
	hwloc_topology_t t = synthetic("pack:2 l3:2 core:2 pu:2");
	is_str(pick(t, NULL, "compact", 3), "0,1,2", "compact fills a core's siblings first");
	is_str(pick(t, NULL, "spread", 4), "0,2,4,6", "spread: one per core first");
	is_str(pick(t, NULL, "spread", 9), "0,2,4,6,8,10,12,14,1", "spread: then the siblings");
	is_str(pick(t, NULL, "same-core", 2), "0,1", "same-core: two siblings");
	is_str(pick(t, NULL, "same-core", 3), "ENOENT", "same-core: no core has 3 threads");
	is_str(pick(t, NULL, "same-l3", 2), "0,2", "same-l3: two cores of one L3");
	is_str(pick(t, NULL, "same-l3", 3), "ENOENT", "same-l3: an L3 has only 2 cores");
	is_str(pick(t, NULL, "different-l3", 4), "0,4,8,12", "different-l3: one per L3");
	is_str(pick(t, NULL, "different-l3", 5), "ENOENT", "different-l3: only 4 L3s");
	is_str(pick(t, NULL, "same-package", 4), "0,2,4,6", "same-package: 4 cores of package 0");
	is_str(pick(t, NULL, "same-socket", 4), "0,2,4,6", "same-socket is same-package");
	is_str(pick(t, NULL, "different-package", 2), "0,8", "different-package: one per package");
	is_str(pick(t, NULL, "different-socket", 3), "ENOENT", "only two sockets");
	is_str(pick(t, NULL, "compact", 17), "ENOENT", "more CPUs than the host has");
	is_str(pick(t, NULL, "sideways", 1), "EINVAL", "unknown policy");
	is_str(pick(t, NULL, "compact", 0), "EINVAL", "n must be positive");

	/* only CPUs 5..15 allowed */
	hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
	hwloc_bitmap_set_range(allowed, 5, 15);
	is_str(pick(t, allowed, "compact", 2), "5,6", "allowed set respected (compact)");
	is_str(pick(t, allowed, "same-core", 2), "6,7", "core 2 lost a thread: next core");
	is_str(pick(t, allowed, "different-package", 2), "5,8", "first allowed CPU per package");
	is_str(pick(t, allowed, "spread", 3), "5,6,8", "spread over allowed cores");
	hwloc_bitmap_free(allowed);

	json_t *j = kq_topology_json(t, NULL);
	is_int(json_integer_value(json_object_get(j, "packages")), 2, "json: packages");
	is_int(json_integer_value(json_object_get(j, "l3_domains")), 4, "json: L3 domains");
	is_int(json_integer_value(json_object_get(j, "cores")), 8, "json: cores");
	is_int(json_integer_value(json_object_get(j, "pus")), 16, "json: PUs");
	is_int(json_integer_value(json_object_get(j, "threads_per_core")), 2, "json: SMT 2");
	json_t *c5 = json_array_get(json_object_get(j, "cpus"), 5);
	is_int(json_integer_value(json_object_get(c5, "cpu")), 5, "json: cpu 5");
	is_int(json_integer_value(json_object_get(c5, "core")), 2, "json: cpu 5 on core 2");
	is_int(json_integer_value(json_object_get(c5, "l3")), 1, "json: cpu 5 in L3 1");
	is_int(json_integer_value(json_object_get(c5, "package")), 0, "json: cpu 5 in package 0");
	json_t *pl = json_object_get(j, "placements_for_2");
	ok(json_is_true(json_object_get(pl, "same-core")) &&
	       json_is_true(json_object_get(pl, "different-package")),
	   "json: pair placements offered");
	json_decref(j);
	hwloc_topology_destroy(t);
}

static void no_smt_no_l3(void)
{
	hwloc_topology_t t = synthetic("pack:1 core:4 pu:1");
	is_str(pick(t, NULL, "same-core", 2), "ENOENT", "no SMT: no same-core pair");
	is_str(pick(t, NULL, "same-core", 1), "0", "a single CPU is its own core");
	is_str(pick(t, NULL, "same-l3", 2), "ENOENT", "no L3 objects: no same-l3");
	is_str(pick(t, NULL, "different-l3", 2), "ENOENT", "no L3 objects: no different-l3");
	is_str(pick(t, NULL, "spread", 4), "0,1,2,3", "spread without SMT");
	is_str(pick(t, NULL, "compact", 4), "0,1,2,3", "compact without SMT");
	json_t *j = kq_topology_json(t, NULL);
	json_t *pl = json_object_get(j, "placements_for_2");
	ok(json_is_false(json_object_get(pl, "same-core")), "json: no same-core pair");
	ok(json_is_true(json_object_get(pl, "same-package")), "json: same-package pair");
	json_decref(j);
	hwloc_topology_destroy(t);
}

static void recorded(void)
{
	hwloc_topology_t t;
	char why[256];
	is_int(kq_topology_load(fixture("intel-kvm-host"), &t, why, sizeof(why)), 0,
	       "intel fixture topology loads");
	/* Linux numbering: sibling of CPU i is i + 8 */
	is_str(pick(t, NULL, "compact", 4), "0,8,1,9", "compact follows siblings 0,8");
	is_str(pick(t, NULL, "spread", 4), "0,1,2,3", "spread: cores first");
	is_str(pick(t, NULL, "same-core", 2), "0,8", "same-core: 0 and 8");
	is_str(pick(t, NULL, "different-l3", 2), "0,4", "different-l3 across sockets");
	hwloc_topology_destroy(t);

	is_int(kq_topology_load(fixture("broken"), &t, why, sizeof(why)), -1,
	       "truncated topology.xml refused");
	ok(why[0] != '\0', "reason: %s", why);
	is_int(kq_topology_load("/nonexistent", &t, why, sizeof(why)), -1, "missing tree refused");
	json_t *j = kq_probe_topology(fixture("broken"));
	ok(json_is_null(json_object_get(j, "value")) && json_object_get(j, "unknown"),
	   "broken topology is an unknown marker");
	json_decref(j);
}

static void live(void)
{
	int cpus[1024];
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	is_int(kq_topology_pick_cpus("compact", 1, cpus), 0, "live: one CPU");
	ok(cpus[0] >= 0 && cpus[0] < 1024, "live: CPU %d", cpus[0]);
	cpu_set_t set;
	sched_getaffinity(0, sizeof(set), &set);
	int allowed = CPU_COUNT(&set);
	is_int(kq_topology_pick_cpus("spread", allowed, cpus), 0, "live: all %d allowed CPUs",
	       allowed);
	errno = 0;
	is_int(kq_topology_pick_cpus("spread", (int)ncpu + allowed + 1, cpus), -1,
	       "live: too many CPUs");
	is_int(errno, ENOENT, "live: ENOENT");
	errno = 0;
	is_int(kq_topology_pick_cpus("bogus", 1, cpus), -1, "live: bad policy");
	is_int(errno, EINVAL, "live: EINVAL");
	json_t *j = kq_probe_topology("");
	ok(json_integer_value(json_object_get(j, "pus")) >= allowed, "live: topology json");
	json_decref(j);
	for (int i = 0; kq_topology_policies()[i]; i++)
		ok(kq_topology_policies()[i][0] != '\0', "policy %s listed",
		   kq_topology_policies()[i]);
}

int main(void)
{
	two_sockets();
	no_smt_no_l3();
	recorded();
	live();
	return done_testing();
}
