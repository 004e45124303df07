/* The driver registry and workload parameter accessors. */
#include "core/parse.h"
#include "core/test.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct kq_driver **drivers;
static size_t ndrivers, cap;

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct kq_driver *const *)a)->name,
		      (*(const struct kq_driver *const *)b)->name);
}

/* Runs before main(): a mistake here is the program's, so it aborts. */
void kq_driver_register_table(const struct kq_driver *table, size_t n)
{
	if (ndrivers + n > cap) {
		size_t want = (ndrivers + n) * 2;
		const struct kq_driver **d = realloc(drivers, want * sizeof(*d));
		if (!d) {
			fprintf(stderr, "kvmqual: out of memory registering drivers\n");
			abort();
		}
		drivers = d;
		cap = want;
	}
	for (size_t i = 0; i < n; i++) {
		bool twice = false; /* drivers is unsorted until the qsort below */
		for (size_t j = 0; table[i].name && j < ndrivers; j++)
			twice |= strcmp(drivers[j]->name, table[i].name) == 0;
		if (!table[i].name || !table[i].run || twice) {
			fprintf(stderr, "kvmqual: driver %s registered twice or incomplete\n",
				table[i].name ? table[i].name : "(no name)");
			abort();
		}
		drivers[ndrivers++] = &table[i];
	}
	qsort(drivers, ndrivers, sizeof(drivers[0]), by_name);
}

void kq_driver_register(const struct kq_driver *d)
{
	kq_driver_register_table(d, 1);
}

static int name_vs_driver(const void *key, const void *elem)
{
	return strcmp(key, (*(const struct kq_driver *const *)elem)->name);
}

/* Every suite.conf section looks its workload up twice: a binary search
 * over the sorted registry, not a scan of a hundred names. */
const struct kq_driver *kq_driver_find(const char *name)
{
	const struct kq_driver *const *d =
	    ndrivers ? bsearch(name, drivers, ndrivers, sizeof(drivers[0]), name_vs_driver) : NULL;
	return d ? *d : NULL;
}

const struct kq_driver *kq_driver_at(size_t i)
{
	return i < ndrivers ? drivers[i] : NULL;
}

const char *kq_test_param(const struct kq_test *t, const char *key, const char *def)
{
	for (int i = 0; i < t->nparams; i++)
		if (t->params[i].line >= 0 && strcmp(t->params[i].key, key) == 0)
			return t->params[i].value;
	return def;
}

int64_t kq_test_param_int(const struct kq_test *t, const char *key, int64_t def)
{
	int64_t v;
	const char *s = kq_test_param(t, key, NULL);
	return s && kq_parse_int(s, &v) == 0 ? v : def;
}

double kq_test_param_double(const struct kq_test *t, const char *key, double def)
{
	double v;
	const char *s = kq_test_param(t, key, NULL);
	return s && kq_parse_double(s, &v) == 0 ? v : def;
}

bool kq_test_param_bool(const struct kq_test *t, const char *key, bool def)
{
	bool v;
	const char *s = kq_test_param(t, key, NULL);
	return s && kq_parse_yes_no(s, &v) == 0 ? v : def;
}

uint64_t kq_test_param_size(const struct kq_test *t, const char *key, uint64_t def)
{
	uint64_t v;
	const char *s = kq_test_param(t, key, NULL);
	return s && kq_parse_size(s, &v) == 0 ? v : def;
}

double kq_test_time_goal_ms(const struct kq_test *t, const struct kq_run_opts *o)
{
	return o->quick ? t->quick_time_goal_ms : t->time_goal_ms;
}
