/* Host topology through hwloc: packages, NUMA nodes, L3 domains, cores and
 * SMT siblings, and the placement choices tests pin vCPUs by. */
#ifndef KQ_PROBES_TOPOLOGY_H
#define KQ_PROBES_TOPOLOGY_H

#include <hwloc.h>
#include <jansson.h>
#include <stddef.h>

/* Picks n host CPUs (OS indices into cpus[0..n-1]) from the CPUs this process
 * may run on, by policy:
 *   "compact"          fill the SMT siblings of a core, then the next core
 *   "spread"           one CPU per core first, then the second SMT siblings...
 *   "same-core"        n SMT siblings of one core
 *   "same-l3"          n different cores that share one L3 cache
 *   "different-l3"     n CPUs each in a different L3 domain
 *   "same-package"     n different cores in one package ("same-socket")
 *   "different-package" n CPUs each in a different package ("different-socket")
 * Returns 0; or -1 with errno EINVAL (unknown policy, n < 1), ENOENT (the
 * host has no such placement for n CPUs: no SMT, one L3, too few CPUs), or
 * EIO (topology not loadable). Thread-safe; the topology is loaded once. */
int kq_topology_pick_cpus(const char *policy, int n, int *cpus);

/* The same over a given topology and set of allowed CPUs (NULL: all of the
 * topology's CPUs); used by tests with synthetic topologies. */
int kq_topology_pick_cpus_in(hwloc_topology_t topo, hwloc_const_cpuset_t allowed,
			     const char *policy, int n, int *cpus);

/* NULL-terminated list of policy names (aliases excluded). */
const char *const *kq_topology_policies(void);

/* Loads the live topology (root "" or "/"), or <root>/kvmqual/topology.xml
 * for a recorded tree. Returns 0, or -1 with why set. */
int kq_topology_load(const char *root, hwloc_topology_t *out, char *why, size_t whylen);

/* The fingerprint's "topology" object (docs/probes.md). */
json_t *kq_topology_json(hwloc_topology_t topo, hwloc_const_cpuset_t allowed);
/* Loads and describes; unknown marker when hwloc cannot load it. */
json_t *kq_probe_topology(const char *root);

#endif
