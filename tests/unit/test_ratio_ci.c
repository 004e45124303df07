/* The interval of the interleaved VMM / reference ratio
 * (workloads/exit_reference.c), against values computed by hand in Python:
 *   r = 1.02 0.98 1.05 1.01 0.99 1.03 1.00 1.04, logs' mean m, sd s (n - 1),
 *   exp(m) = 1.0147412961013507, exp(m -/+ 2.365 s / sqrt 8) =
 *   [0.9944632420051785, 1.035432839063233] */
#include <math.h>

#include "tests/tap.h"
#include "workloads/reference.h"

int main(void)
{
	static const double r[] = {1.02, 0.98, 1.05, 1.01, 0.99, 1.03, 1.00, 1.04};
	double g, lo, hi;
	is_int(kq_ratio_ci(r, 8, &g, &lo, &hi), 0, "8 rounds: an interval");
	is_near(g, 1.0147412961013507, 1e-12, "geometric mean");
	is_near(lo, 0.9944632420051785, 1e-12, "lower bound (t = 2.365, 7 df)");
	is_near(hi, 1.035432839063233, 1e-12, "upper bound");
	static const double same[] = {1.1, 1.1, 1.1};
	kq_ratio_ci(same, 3, &g, &lo, &hi);
	ok(fabs(g - 1.1) < 1e-12 && fabs(lo - 1.1) < 1e-12 && fabs(hi - 1.1) < 1e-12,
	   "identical rounds: a point");
	ok(kq_ratio_ci(r, 1, &g, &lo, &hi) < 0, "one round: no interval");
	static const double bad[] = {1.0, 0.0};
	ok(kq_ratio_ci(bad, 2, &g, &lo, &hi) < 0, "a zero ratio: refused");
	is_near(kq_t975(1), 12.706, 1e-9, "t, 1 df");
	is_near(kq_t975(30), 2.042, 1e-9, "t, 30 df");
	is_near(kq_t975(200), 1.96, 1e-9, "t beyond the table: normal");
	return done_testing();
}
