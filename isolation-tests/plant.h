/* TEST-ONLY planted violations: the proof that each isolation test can fail.
 *
 * KVMQUAL_PLANT=residual|hole|tenant|msr|cpuid (or several, comma-separated)
 * in the environment makes the matching isolation driver break isolation on
 * purpose (docs/isolation.md):
 *   residual  VM B gets the very memory VM A filled (a shared memfd), unzeroed
 *   hole      a page of host memory holding the host's tag is mapped into a hole
 *   tenant    tenants 0 and 1 share one page of their memory
 *   msr       one denied MSR is allowed through the deny-by-default filter
 *   cpuid     one CPUID bit is set again after KVM_SET_CPUID2
 * Only the isolation drivers read it, and suite.conf has no key that reaches
 * it: a normal run never plants anything. A planted run records
 * evidence.planted so its result cannot pass for a real one. */
#ifndef KQ_ISO_PLANT_H
#define KQ_ISO_PLANT_H

#include <stdbool.h>

#include "core/result.h"

#define KQ_PLANT_ENV "KVMQUAL_PLANT"

/* Whether KVMQUAL_PLANT names `what`; when it does, the result gets
 * evidence.planted = what and a diagnostic line. res may be NULL. */
bool kq_iso_planted(const char *what, struct kq_result *res);

#endif
