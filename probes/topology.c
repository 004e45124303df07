/* hwloc topology, placement choices and CPU picking. */
#include "probes/topology.h"
#include "probes/fs.h"

#include <errno.h>
#include <hwloc/export.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pu_info {
	int os;	  /* OS CPU index */
	int core; /* grouping keys; unique negative values stand in when absent */
	int l3;
	int pkg;
	int numa;
};

enum grouping { BY_CORE, BY_L3, BY_PKG };

static const char *const policies[] = {
    "compact",	    "spread",	    "same-core",	 "same-l3",
    "different-l3", "same-package", "different-package", NULL};

const char *const *kq_topology_policies(void)
{
	return policies;
}

static int ancestor_index(hwloc_topology_t topo, hwloc_obj_t pu, hwloc_obj_type_t type)
{
	hwloc_obj_t a = hwloc_get_ancestor_obj_by_type(topo, type, pu);
	return a ? (int)a->logical_index : -1;
}

/* The allowed PUs in topology order. Returns the count (malloc'd *out). */
static int collect(hwloc_topology_t topo, hwloc_const_cpuset_t allowed, struct pu_info **out)
{
	int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	struct pu_info *v = calloc(npu > 0 ? (size_t)npu : 1, sizeof(*v));
	int n = 0;
	if (!v)
		return -1;
	for (int i = 0; i < npu; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)i);
		if (allowed && !hwloc_bitmap_isset(allowed, pu->os_index))
			continue;
		struct pu_info *p = &v[n++];
		p->os = (int)pu->os_index;
		p->core = ancestor_index(topo, pu, HWLOC_OBJ_CORE);
		if (p->core < 0)
			p->core = -2 - i; /* no core objects: every PU its own core */
		p->l3 = ancestor_index(topo, pu, HWLOC_OBJ_L3CACHE);
		p->pkg = ancestor_index(topo, pu, HWLOC_OBJ_PACKAGE);
		p->numa = pu->nodeset ? hwloc_bitmap_first(pu->nodeset) : -1;
	}
	*out = v;
	return n;
}

static int key_of(const struct pu_info *p, enum grouping g)
{
	return g == BY_CORE ? p->core : g == BY_L3 ? p->l3 : p->pkg;
}

static bool seen_in(const int *v, int n, int x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* n PUs inside one group; distinct cores unless grouping by core. */
static int pick_same(const struct pu_info *v, int npu, enum grouping g, int n, int *cpus)
{
	int *cores = calloc((size_t)npu + 1, sizeof(int));
	if (!cores)
		return -1;
	for (int s = 0; s < npu; s++) {
		int key = key_of(&v[s], g);
		if (g != BY_CORE && key < 0)
			break; /* the host has no such objects */
		if (s > 0 && key == key_of(&v[s - 1], g))
			continue; /* groups are contiguous in topology order */
		int got = 0;
		for (int i = s; i < npu && key_of(&v[i], g) == key && got < n; i++) {
			if (g != BY_CORE && seen_in(cores, got, v[i].core))
				continue;
			cores[got] = v[i].core;
			cpus[got++] = v[i].os;
		}
		if (got == n) {
			free(cores);
			return 0;
		}
	}
	free(cores);
	errno = ENOENT;
	return -1;
}

static int pick_different(const struct pu_info *v, int npu, enum grouping g, int n, int *cpus)
{
	int *keys = calloc((size_t)npu + 1, sizeof(int));
	int got = 0;
	if (!keys)
		return -1;
	for (int i = 0; i < npu && got < n; i++) {
		int key = key_of(&v[i], g);
		if (key < 0)
			break;
		if (seen_in(keys, got, key))
			continue;
		keys[got] = key;
		cpus[got++] = v[i].os;
	}
	free(keys);
	if (got < n) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

static int pick_spread(const struct pu_info *v, int npu, int n, int *cpus)
{
	/* round r takes the r-th PU of every core */
	int got = 0;
	for (int round = 0; got < n; round++) {
		int before = got;
		for (int i = 0; i < npu && got < n; i++) {
			int rank = 0;
			for (int j = i - 1; j >= 0 && v[j].core == v[i].core; j--)
				rank++;
			if (rank == round)
				cpus[got++] = v[i].os;
		}
		if (got == before)
			break;
	}
	if (got < n) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

int kq_topology_pick_cpus_in(hwloc_topology_t topo, hwloc_const_cpuset_t allowed,
			     const char *policy, int n, int *cpus)
{
	if (!policy || n < 1 || !cpus) {
		errno = EINVAL;
		return -1;
	}
	if (!strcmp(policy, "same-socket"))
		policy = "same-package";
	else if (!strcmp(policy, "different-socket"))
		policy = "different-package";
	bool known = false;
	for (int i = 0; policies[i]; i++)
		known |= !strcmp(policy, policies[i]);
	if (!known) {
		errno = EINVAL;
		return -1;
	}
	struct pu_info *v;
	int npu = collect(topo, allowed, &v);
	if (npu < 0) {
		errno = ENOMEM;
		return -1;
	}
	int rc;
	if (npu < n) {
		errno = ENOENT;
		rc = -1;
	} else if (!strcmp(policy, "compact")) {
		for (int i = 0; i < n; i++)
			cpus[i] = v[i].os;
		rc = 0;
	} else if (!strcmp(policy, "spread")) {
		rc = pick_spread(v, npu, n, cpus);
	} else if (!strcmp(policy, "same-core")) {
		rc = pick_same(v, npu, BY_CORE, n, cpus);
	} else if (!strcmp(policy, "same-l3")) {
		rc = pick_same(v, npu, BY_L3, n, cpus);
	} else if (!strcmp(policy, "different-l3")) {
		rc = pick_different(v, npu, BY_L3, n, cpus);
	} else if (!strcmp(policy, "same-package")) {
		rc = pick_same(v, npu, BY_PKG, n, cpus);
	} else {
		rc = pick_different(v, npu, BY_PKG, n, cpus);
	}
	int e = errno;
	free(v);
	errno = e;
	return rc;
}

static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static hwloc_topology_t live_topo;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void load_live(void)
{
	if (kq_topology_load("", &live_topo, NULL, 0) < 0)
		live_topo = NULL;
}

int kq_topology_pick_cpus(const char *policy, int n, int *cpus)
{
	pthread_once(&live_once, load_live);
	if (!live_topo) {
		errno = EIO;
		return -1;
	}
	pthread_mutex_lock(&live_lock);
	hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
	if (!allowed || hwloc_get_cpubind(live_topo, allowed, HWLOC_CPUBIND_PROCESS) < 0 ||
	    hwloc_bitmap_iszero(allowed)) {
		hwloc_bitmap_free(allowed);
		allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(live_topo));
	} else {
		hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_allowed_cpuset(live_topo));
	}
	int rc = kq_topology_pick_cpus_in(live_topo, allowed, policy, n, cpus);
	int e = errno;
	hwloc_bitmap_free(allowed);
	pthread_mutex_unlock(&live_lock);
	errno = e;
	return rc;
}

int kq_topology_load(const char *root, hwloc_topology_t *out, char *why, size_t whylen)
{
	hwloc_topology_t t;
	char xml[4096];
	*out = NULL;
	if (hwloc_topology_init(&t) < 0) {
		if (why)
			snprintf(why, whylen, "hwloc_topology_init: %s", strerror(errno));
		return -1;
	}
	if (!kq_fs_is_live(root)) {
		kq_fs_path(root, "/kvmqual/topology.xml", xml, sizeof(xml));
		if (hwloc_topology_set_xml(t, xml) < 0) {
			if (why)
				snprintf(why, whylen, "%s: %s", "/kvmqual/topology.xml",
					 strerror(errno));
			hwloc_topology_destroy(t);
			return -1;
		}
	}
	if (hwloc_topology_load(t) < 0) {
		if (why)
			snprintf(why, whylen, "hwloc_topology_load: %s", strerror(errno));
		hwloc_topology_destroy(t);
		return -1;
	}
	if (kq_fs_is_live(root)) {
		char *buf = NULL;
		int len = 0;
		if (hwloc_topology_export_xmlbuffer(t, &buf, &len, 0) == 0 && buf) {
			kq_fs_record_file("/kvmqual/topology.xml", buf, len > 0 ? strlen(buf) : 0);
			hwloc_free_xmlbuffer(t, buf);
		}
	}
	*out = t;
	return 0;
}

static int count_distinct(const struct pu_info *v, int n, enum grouping g)
{
	int c = 0;
	for (int i = 0; i < n; i++) {
		int k = key_of(&v[i], g);
		if (g != BY_CORE && k < 0)
			continue;
		bool dup = false;
		for (int j = 0; j < i && !dup; j++)
			dup = key_of(&v[j], g) == k;
		c += !dup;
	}
	return c;
}

json_t *kq_topology_json(hwloc_topology_t topo, hwloc_const_cpuset_t allowed)
{
	json_t *o = json_object();
	json_object_set_new(o, "packages",
			    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE)));
	json_object_set_new(o, "numa_nodes",
			    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE)));
	json_object_set_new(o, "l3_domains",
			    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_L3CACHE)));
	json_object_set_new(o, "cores",
			    json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)));
	json_object_set_new(o, "pus", json_integer(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)));

	struct pu_info *v;
	int n = collect(topo, allowed, &v);
	if (n < 0)
		return o;
	int cores = count_distinct(v, n, BY_CORE);
	json_object_set_new(o, "allowed_pus", json_integer(n));
	json_object_set_new(o, "threads_per_core",
			    json_integer(cores ? (n + cores - 1) / cores : 0));
	hwloc_obj_t l3 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_L3CACHE, 0);
	if (l3 && l3->attr)
		json_object_set_new(o, "l3_size_kb",
				    json_integer((json_int_t)(l3->attr->cache.size / 1024)));
	json_t *cpus = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(cpus,
				      json_pack("{s:i,s:i,s:i,s:i,s:i}", "cpu", v[i].os, "core",
						v[i].core < 0 ? -1 : v[i].core, "l3", v[i].l3,
						"package", v[i].pkg, "numa", v[i].numa));
	json_object_set_new(o, "cpus", cpus);
	free(v);

	/* which placements exist for a pair of vCPUs */
	json_t *pl = json_object();
	for (int i = 0; policies[i]; i++) {
		int pick[2];
		json_object_set_new(pl, policies[i],
				    json_boolean(kq_topology_pick_cpus_in(
						     topo, allowed, policies[i], 2, pick) == 0));
	}
	json_object_set_new(o, "placements_for_2", pl);
	return o;
}

json_t *kq_probe_topology(const char *root)
{
	hwloc_topology_t t;
	char why[512];
	if (kq_topology_load(root, &t, why, sizeof(why)) < 0)
		return kq_unknown("%s", why);
	json_t *o = NULL;
	if (kq_fs_is_live(root)) {
		hwloc_bitmap_t allowed = hwloc_bitmap_alloc();
		if (allowed && hwloc_get_cpubind(t, allowed, HWLOC_CPUBIND_PROCESS) == 0 &&
		    !hwloc_bitmap_iszero(allowed)) {
			hwloc_bitmap_and(allowed, allowed, hwloc_topology_get_allowed_cpuset(t));
			o = kq_topology_json(t, allowed);
		}
		hwloc_bitmap_free(allowed);
	}
	if (!o)
		o = kq_topology_json(t, NULL);
	char ver[32];
	unsigned api = hwloc_get_api_version();
	snprintf(ver, sizeof(ver), "%u.%u.%u", api >> 16, (api >> 8) & 0xff, api & 0xff);
	json_object_set_new(o, "hwloc_api", json_string(ver));
	hwloc_topology_destroy(t);
	return o;
}
