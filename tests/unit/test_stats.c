/* Statistics against values computed independently (by hand and with
 * Python's statistics module / numpy's default percentile, type 7). */
#include "core/result.h"
#include "core/stats.h"
#include "tests/tap.h"

#include <stdlib.h>

int main(void)
{
	struct kq_stats st;
	/* 1..10: median 5.5; mean 5.5; sample stddev sqrt(55/6) = 3.0276503540974917;
	 * p99 = 9 + 0.91 * (10 - 9) = 9.91 (h = 9 * 0.99 = 8.91). */
	double a[] = {7, 3, 1, 10, 2, 9, 4, 8, 6, 5};
	ok(kq_stats_compute(a, 10, &st) == 0, "stats of 1..10 computed");
	is_int(st.n, 10, "n");
	is_near(st.min, 1, 0, "min");
	is_near(st.max, 10, 0, "max");
	is_near(st.median, 5.5, 1e-12, "median of an even count interpolates");
	is_near(st.mean, 5.5, 1e-12, "mean");
	is_near(st.stddev, 3.0276503540974917, 1e-12, "sample stddev (n-1)");
	is_near(st.p99, 9.91, 1e-12, "p99, type-7 interpolation");
	is_near(a[0], 7, 0, "input is left unsorted");

	/* Odd count: median is the middle value. statistics.stdev([2,4,4,4,5,5,7,9,11])
	 * = 2.8284271247461903; mean 51/9. */
	double b[] = {4, 2, 9, 4, 5, 11, 4, 7, 5};
	kq_stats_compute(b, 9, &st);
	is_near(st.median, 5, 0, "median of an odd count");
	is_near(st.mean, 51.0 / 9.0, 1e-12, "mean of 9 values");
	is_near(st.stddev, 2.8284271247461903, 1e-12, "stddev of 9 values");

	/* Large offset: naive sum-of-squares loses the variance; Welford keeps it.
	 * 1e9 + {1,2,3,4}: stddev = sqrt(5/3) = 1.2909944487358056. */
	double c[] = {1e9 + 1, 1e9 + 2, 1e9 + 3, 1e9 + 4};
	kq_stats_compute(c, 4, &st);
	is_near(st.stddev, 1.2909944487358056, 1e-6, "stddev stays accurate at a large offset");

	double one = 42;
	kq_stats_compute(&one, 1, &st);
	ok(st.n == 1 && st.median == 42 && st.p99 == 42 && st.stddev == 0,
	   "one sample: every statistic is the value, stddev 0");
	ok(kq_stats_compute(NULL, 0, &st) == 0 && st.n == 0 && st.mean == 0, "no samples: zeros");

	/* numpy.percentile(range(1, 101), 99) = 99.01 */
	double d[100];
	for (int i = 0; i < 100; i++)
		d[i] = 100 - i;
	kq_stats_compute(d, 100, &st);
	is_near(st.p99, 99.01, 1e-9, "p99 of 1..100 is 99.01");
	is_near(st.median, 50.5, 1e-12, "median of 1..100");

	double e[] = {10, 10, 10, 12};
	is_near(kq_cv(e, 4), 1.0 / 10.5, 1e-12, "coefficient of variation: stddev 1 / mean 10.5");

	/* One list of statistic names: results.json's stats object follows it. */
	struct kq_stats st1 = {.n = 1};
	json_t *j = kq_stats_json(&st1);
	const char *key;
	json_t *val;
	size_t i = 0;
	bool same = json_object_size(j) == 7;
	json_object_foreach(j, key, val) same &=
	    kq_stat_names[i] && !strcmp(key, kq_stat_names[i++]);
	ok(same, "kq_stats_json writes kq_stat_names, in order");
	json_decref(j);
	ok(kq_stat_is_bound("p99") && kq_stat_is_bound("stddev") && !kq_stat_is_bound("n") &&
	       !kq_stat_is_bound("value"),
	   "bounds apply to the statistics other than n");
	double u[] = {3, -1, 2};
	qsort(u, 3, sizeof(u[0]), kq_cmp_double);
	ok(u[0] == -1 && u[1] == 2 && u[2] == 3, "kq_cmp_double sorts ascending");
	return done_testing();
}
