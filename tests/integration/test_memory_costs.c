/* Integration: the memory cost tests of suite.conf run small through the
 * runner's isolation. memory.dirty-log.* (bitmap, manual protect, ring) on 1
 * and 2 vCPUs: every phase's ms/GiB labelled with vcpus, mechanism and phase,
 * and every collection exact (no page missing, none extra, the sparse pass
 * neither empty nor everything). The ring is strict in the emulated host;
 * natively it is TODO, since the nested build host was seen to overflow the
 * ring (docs/vmm.md). memory.slots: add, move and delete times for 1..8
 * slots, the guest having read every moved slot. memory.vm-create: create,
 * first exit and destroy for 64M and 128M, the first exit after creation. */
#include "tests/integration/suite_test.h"
#include "tests/tap.h"
#include "core/test.h"
#include "runner/conf.h"
#include "runner/execute.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

#include <stdlib.h>
#include <string.h>

static bool emulated(void)
{
	const char *e = getenv("KVMQUAL_ENV");
	return e && strcmp(e, "emulated") == 0;
}

static json_t *metric(json_t *res, const char *name)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(res, "metrics"), i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0)
			return m;
	}
	return NULL;
}

static double mid(json_t *m)
{
	json_t *st = json_object_get(m, "stats");
	return json_number_value(st ? json_object_get(st, "median") : json_object_get(m, "value"));
}

static const char *label(json_t *m, const char *k)
{
	return json_string_value(json_object_get(json_object_get(m, "labels"), k));
}

static void set_param(struct kq_test *t, const char *key, const char *value)
{
	int i = 0;
	while (i < t->nparams && strcmp(t->params[i].key, key) != 0)
		i++;
	if (i == t->nparams)
		t->nparams++;
	snprintf(t->params[i].key, sizeof(t->params[i].key), "%s", key);
	snprintf(t->params[i].value, sizeof(t->params[i].value), "%s", value);
	t->params[i].line = 1;
}

/* ok() for a check under TODO: printed, never counted as failed. */
static void ok_todo(bool todo, int cond, const char *desc)
{
	if (todo) {
		printf("%s %d - %s # TODO the nested build host overflows the dirty ring "
		       "(docs/vmm.md)\n",
		       cond ? "ok" : "not ok", ++tap_n, desc);
		return;
	}
	ok(cond, "%s", desc);
}

static void dirty(const struct kq_test *t, json_t *res)
{
	const char *st = json_string_value(json_object_get(res, "status"));
	const char *why = json_string_value(json_object_get(res, "reason"));
	const char *mech = kq_test_param(t, "mechanism", "bitmap");
	bool ring = strcmp(mech, "ring") == 0, todo = ring && !emulated();
	char desc[1200];
	if (strcmp(st, "skip") == 0) {
		printf("ok %d - %s # SKIP %s\n", ++tap_n, t->name, why);
		return;
	}
	snprintf(desc, sizeof(desc), "%s passes (%s)", t->name, why ? why : "");
	ok_todo(todo, strcmp(st, "pass") == 0, desc);
	static const char *const common[] = {"populate", "enable", "write", "collect", "disable"};
	size_t missing = 0, mislabelled = 0;
	for (int n = 1; n <= 2; n++) {
		const char *phases[8];
		int np = 0;
		for (int i = 0; i < 5; i++)
			phases[np++] = common[i];
		if (ring) {
			phases[np++] = "harvest";
			phases[np++] = "reset";
		} else {
			phases[np++] = "get";
			if (strcmp(mech, "bitmap-manual") == 0)
				phases[np++] = "clear";
		}
		for (int i = 0; i < np; i++) {
			char name[48];
			snprintf(name, sizeof(name), "%s.%dvcpu", phases[i], n);
			json_t *m = metric(res, name);
			if (!m || !(mid(m) > 0)) {
				missing++;
				printf("# %s: no %s\n", t->name, name);
				continue;
			}
			json_int_t v = json_integer_value(
			    json_object_get(json_object_get(m, "labels"), "vcpus"));
			mislabelled +=
			    v != n || !label(m, "mechanism") ||
			    strcmp(label(m, "mechanism"), mech) != 0 ||
			    strcmp(label(m, "phase"), phases[i]) != 0 ||
			    strcmp(json_string_value(json_object_get(m, "unit")), "ms/GiB");
		}
	}
	snprintf(desc, sizeof(desc), "%s: every phase timed for 1 and 2 vCPUs (%zu missing)",
		 t->name, missing);
	ok_todo(todo, !missing, desc);
	ok(!mislabelled, "%s: labelled vcpus, mechanism, phase, in ms/GiB", t->name);
	json_t *checks = json_object_get(json_object_get(res, "evidence"), "exact");
	size_t i, bad = 0, sparse = 0;
	json_t *c;
	json_int_t full = 0;
	json_array_foreach(checks, i, c)
	{
		json_int_t w = json_integer_value(json_object_get(c, "written"));
		bad += json_integer_value(json_object_get(c, "missing")) ||
		       json_integer_value(json_object_get(c, "extra")) ||
		       w != json_integer_value(json_object_get(c, "reported"));
		const char *pass = json_string_value(json_object_get(c, "pass"));
		if (strcmp(pass, "iteration 1") == 0 && w > full)
			full = w;
		sparse += strcmp(pass, "sparse pass") == 0 && w > 0 && w < full / 4;
	}
	/* Per vCPU count: iteration 1, the sparse pass, and nothing after it. */
	snprintf(desc, sizeof(desc),
		 "%s: %zu collections checked page by page, %zu not exact (sparse passes "
		 "with about an eighth: %zu)",
		 t->name, json_array_size(checks), bad, sparse);
	ok_todo(todo, json_array_size(checks) == 6 && !bad && sparse == 2, desc);
}

static void slots(const struct kq_test *t, json_t *res)
{
	const char *st = json_string_value(json_object_get(res, "status"));
	const char *why = json_string_value(json_object_get(res, "reason"));
	if (!ok(strcmp(st, "pass") == 0, "%s passes (%s)", t->name, why ? why : ""))
		return;
	static const char *const ops[] = {"add", "move", "delete"};
	size_t missing = 0;
	for (int k = 1; k <= 8; k *= 2)
		for (int o = 0; o < 3; o++) {
			char name[32];
			snprintf(name, sizeof(name), "%s.%dslots", ops[o], k);
			json_t *m = metric(res, name);
			missing += !m || !(mid(m) > 0) ||
				   json_integer_value(json_object_get(json_object_get(m, "labels"),
								      "slots")) != k ||
				   strcmp(label(m, "op"), ops[o]) != 0;
		}
	ok(!missing, "%s: add, move and delete in us for 1, 2, 4, 8 slots, labelled (%zu not)",
	   t->name, missing);
}

static void vm_create(const struct kq_test *t, json_t *res)
{
	const char *st = json_string_value(json_object_get(res, "status"));
	const char *why = json_string_value(json_object_get(res, "reason"));
	if (!ok(strcmp(st, "pass") == 0, "%s passes (%s)", t->name, why ? why : ""))
		return;
	static const char *const sizes[] = {"64M", "128M"};
	for (int i = 0; i < 2; i++) {
		char c[32], f[32], d[32];
		snprintf(c, sizeof(c), "create.%s", sizes[i]);
		snprintf(f, sizeof(f), "first_exit.%s", sizes[i]);
		snprintf(d, sizeof(d), "destroy.%s", sizes[i]);
		json_t *mc = metric(res, c), *mf = metric(res, f), *md = metric(res, d);
		ok(mc && mf && md && mid(mc) > 0 && mid(mf) >= mid(mc) && mid(md) > 0,
		   "%s: %s: create %.2f ms, first exit %.2f ms after creation began, destroy "
		   "%.2f ms",
		   t->name, sizes[i], mc ? mid(mc) : -1, mf ? mid(mf) : -1, md ? mid(md) : -1);
	}
}

/* The negative control: the host's own write bypasses the vmm, so its page
 * (the slot's last) must be reported missing, and the test FAIL saying so. */
static void planted(struct kq_suite *s, const struct kq_run_opts *o)
{
	struct kq_test t = {0};
	for (int i = 0; i < s->ntests; i++)
		if (strcmp(s->tests[i].name, "memory.dirty-log.bitmap") == 0)
			t = s->tests[i];
	if (!t.name[0]) {
		ok(0, "memory.dirty-log.bitmap is declared");
		return;
	}
	t.mem_bytes = 4ULL << 20;
	set_param(&t, "max_vcpus", "1");
	set_param(&t, "iterations", "1");
	set_param(&t, "planted", "unrecorded");
	json_t *res = kq_execute_test(&t, o);
	const char *st = json_string_value(json_object_get(res, "status"));
	const char *why = json_string_value(json_object_get(res, "reason"));
	ok(strcmp(st, "fail") == 0 && why && strstr(why, "sparse pass") &&
	       strstr(why, "1 missing (first pages of the slot: 1023)") && strstr(why, "0 extra"),
	   "a host write behind the vmm's back FAILs with the missing page (%s: %s)", st,
	   why ? why : "");
	json_decref(res);
}

int main(void)
{
	suite_test_need_kvm();
	struct kq_suite s;
	if (!suite_test_load(&s))
		return done_testing();
	struct kq_run_opts o = {.quick = true, .repeat = 1, .out_dir = "/tmp"};
	int ran = 0;
	for (int i = 0; i < s.ntests; i++) {
		struct kq_test t = s.tests[i];
		bool d = strcmp(t.workload, "memory.dirty-log") == 0,
		     sl = strcmp(t.workload, "memory.slots") == 0,
		     vc = strcmp(t.workload, "memory.vm-create") == 0;
		if (!d && !sl && !vc)
			continue;
		/* Small: 8 MiB on 1 and 2 vCPUs, 8 slots, two VM sizes once each. */
		if (d) {
			t.mem_bytes = 8ULL << 20;
			set_param(&t, "max_vcpus", "2");
			set_param(&t, "iterations", "1");
		}
		if (sl)
			set_param(&t, "max_slots", "8");
		if (vc) {
			t.mem_bytes = 128ULL << 20;
			set_param(&t, "repeats", "1");
		}
		json_t *res = kq_execute_test(&t, &o);
		ran++;
		if (d)
			dirty(&t, res);
		else if (sl)
			slots(&t, res);
		else
			vm_create(&t, res);
		json_decref(res);
	}
	ok(ran == 5, "ran the 5 memory cost tests suite.conf declares (%d)", ran);
	planted(&s, &o);
	kq_suite_free(&s);
	return done_testing();
}
