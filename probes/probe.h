/* Host probes: the JSON host fingerprint written into every results.json and
 * printed by `kvmqual probe`. The shape is documented in docs/probes.md. */
#ifndef KQ_PROBES_PROBE_H
#define KQ_PROBES_PROBE_H

#include <jansson.h>
#include <stdbool.h>

#define KQ_FINGERPRINT_VERSION 1

/* The full fingerprint. root is "" or "/" for the live host, or the prefix of
 * a recorded tree (sysfs/procfs files plus kvmqual/cpuid.txt,
 * kvmqual/topology.xml, kvmqual/kvm.json, kvmqual/environment). Never fails
 * on missing or unreadable files: those become {"value": null, "unknown":
 * "reason"}. Returns a new reference (NULL only when out of memory). */
json_t *kq_probe_host(const char *root);

/* "emulated" when KVMQUAL_ENV=emulated, else "nested" when the CPUID
 * hypervisor bit is set, else "bare-metal". */
const char *kq_probe_environment(void);

/* `kvmqual probe [--json] [--root DIR] [--record DIR]`: 0 ok, 2 bad usage. */
int kq_probe_main(int argc, char **argv);

/* Sections of the fingerprint, each usable alone (the conformance drivers
 * call only what they check). */
json_t *kq_probe_cpu(const char *root);
json_t *kq_probe_kvm(const char *root);
json_t *kq_probe_kernel(const char *root);
json_t *kq_probe_memory(const char *root);
json_t *kq_probe_vulnerabilities(const char *root);
json_t *kq_probe_smt(const char *root);
json_t *kq_probe_cpufreq(const char *root);
/* Guest paging: {mode: ept|npt|shadow|unknown, hardware, vendor_module, reason, nested,
 * parameters}. */
json_t *kq_probe_paging(const char *root);
/* Environment class of a recorded tree (kvmqual/environment) or the live one. */
const char *kq_probe_environment_at(const char *root);

/* Classifies a vulnerabilities file's text: "not-affected", "mitigated",
 * "vulnerable", "unknown" (the kernel itself says Unknown) or "unparsed"
 * (empty or unrecognised). The fingerprint adds "unreadable". */
const char *kq_vuln_class(const char *text);

/* Looks up a dotted path ("kvm.capabilities.MAX_VCPUS") in a fingerprint. */
json_t *kq_probe_get(json_t *fp, const char *path);

#endif
