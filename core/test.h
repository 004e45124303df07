/* A declared test (one suite.conf section) and the driver interface.
 * Drivers register themselves with KQ_DRIVER_TABLE() (or KQ_DRIVER() for
 * one); the runner looks them up by
 * the section's `workload` key and validates the workload's own keys against
 * the driver's parameter list before anything runs. */
#ifndef KQ_CORE_TEST_H
#define KQ_CORE_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "core/result.h"
#include "guest/abi.h"

#define KQ_MAX_GROUPS 8
#define KQ_MAX_PARAMS 32
#define KQ_MAX_CPUS   256
#define KQ_MAX_THRESH 8

enum kq_pin_policy { KQ_PIN_NONE, KQ_PIN_COMPACT, KQ_PIN_SPREAD, KQ_PIN_LIST };

struct kq_param {
	char key[48];
	char value[256];
	int line; /* suite.conf line, for messages */
};

/* A verdict bound: metric NAME's statistic compared with a limit.
 * suite.conf: `max.<metric>.<stat> = 1500` or `min.<metric>.<stat> = ...`. */
struct kq_threshold {
	char metric[48];
	char stat[16]; /* median, mean, p99, min, max, value */
	bool is_max;
	double limit;
	int line;
};

struct kq_test {
	char name[64];
	char file[256];
	int line;
	char workload[48];
	char groups[KQ_MAX_GROUPS][32];
	int ngroups;
	bool default_off; /* `default = no`: runs only when selected by name or group */
	int vcpus;
	uint64_t mem_bytes;
	/* The vmm's enum kq_backing and enum kq_pagesz (vmm/memory.h, vmm/vm.h):
	 * core sits beside the vmm, not above it, so it holds them as ints. */
	int backing;
	int page_size;
	enum kq_pin_policy pin;
	int pin_cpus[KQ_MAX_CPUS];
	int npin_cpus;
	double time_limit_s;
	double time_goal_ms;	   /* adaptive iteration goal per measurement */
	double quick_time_goal_ms; /* used with --quick */
	char requires[256];	   /* space-separated capability names */
	char steps[1024];	   /* the step script as written (results.json config) */
	struct kq_step step_ops[KQ_MAX_STEPS_ABI]; /* parsed once, when the suite loads */
	int nsteps;
	struct kq_param params[KQ_MAX_PARAMS]; /* workload-specific keys */
	int nparams;
	struct kq_threshold thresholds[KQ_MAX_THRESH];
	int nthresholds;
};

/* Options that apply to the whole run, seen by every driver. */
struct kq_run_opts {
	bool quick;
	int repeat;
	const char *out_dir;
	const char *environment; /* "bare-metal", "nested", "emulated" */
};

enum kq_param_type { KQ_PT_STRING, KQ_PT_INT, KQ_PT_U64, KQ_PT_DOUBLE, KQ_PT_BOOL, KQ_PT_SIZE };

struct kq_param_spec {
	const char *key;
	enum kq_param_type type;
	const char *help;
};

struct kq_driver {
	const char *name;    /* the `workload` value in suite.conf */
	const char *summary; /* one line for `kvmqual list --workloads` */
	bool needs_kvm;
	const struct kq_param_spec *params; /* NULL-key terminated, may be NULL */
	/* Runs in a forked child; records status, metrics and evidence in *res.
	 * d is this entry, so one run function serves a table of rows. */
	void (*run)(const struct kq_driver *d, const struct kq_test *t, const struct kq_run_opts *o,
		    struct kq_result *res);
	const void *data; /* the row this driver was registered for (an exit kind, a check) */
	/* Optional checks across keys, run when suite.conf is loaded (each key's
	 * own value is already valid). Returns -1 with err set and *key naming
	 * the key whose line the message gets (NULL: the section's line). */
	int (*validate)(const struct kq_test *t, char *err, size_t errlen, const char **key);
};

/* The one way drivers enter the registry: a table of rows, each a complete
 * driver whose `data` points at what that row needs (an exit kind, a
 * conformance check). A file with one driver registers a table of one. */
void kq_driver_register_table(const struct kq_driver *table, size_t n);
void kq_driver_register(const struct kq_driver *d); /* a table of one */
const struct kq_driver *kq_driver_find(const char *name);
/* Iterates registered drivers in name order: returns NULL past the end. */
const struct kq_driver *kq_driver_at(size_t i);

/* Registers a static table (an array, not a pointer) before main() runs. */
#define KQ_DRIVER_TABLE(table)                                                                     \
	__attribute__((constructor)) static void kq_register_##table(void)                         \
	{                                                                                          \
		kq_driver_register_table(table, sizeof(table) / sizeof((table)[0]));               \
	}
#define KQ_DRIVER(var)                                                                             \
	__attribute__((constructor)) static void kq_register_##var(void)                           \
	{                                                                                          \
		kq_driver_register_table(&var, 1);                                                 \
	}

/* Workload parameter accessors: the default is returned when the key is absent.
 * Values were validated against the driver's spec when suite.conf was loaded. */
const char *kq_test_param(const struct kq_test *t, const char *key, const char *def);
int64_t kq_test_param_int(const struct kq_test *t, const char *key, int64_t def);
double kq_test_param_double(const struct kq_test *t, const char *key, double def);
bool kq_test_param_bool(const struct kq_test *t, const char *key, bool def);
uint64_t kq_test_param_size(const struct kq_test *t, const char *key, uint64_t def);

/* The measurement time goal in ms for this run (quick or full). */
double kq_test_time_goal_ms(const struct kq_test *t, const struct kq_run_opts *o);

#endif
