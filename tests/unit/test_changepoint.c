/* Change points on synthetic series: planted steps are found where they were
 * planted, and pure noise raises false alarms at the stated rate (alpha). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "reports/changepoint.h"
#include "tests/tap.h"

static uint64_t rng = 42;
static double unif(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static double noise(void)
{
	return sqrt(-2 * log(unif())) * cos(2 * M_PI * unif());
}

static void test_planted(void)
{
	struct kq_cp_opts o;
	struct kq_change ch[8];
	kq_cp_opts_default(&o);

	/* 5 runs, a 20% step after the third (noise 1%) */
	double five[] = {3000, 3030, 2985, 3600, 3630};
	int n = kq_changepoints(five, 5, &o, ch, 8);
	is_int(n, 1, "five runs: one step found");
	is_int(n > 0 ? ch[0].at : 0, 3, "five runs: between runs 3 and 4");
	ok(n > 0 && ch[0].before < 3100 && ch[0].after > 3500, "segment medians either side");

	/* two steps in 30 runs: up at 10, back down at 20 */
	double x[30];
	for (int i = 0; i < 30; i++)
		x[i] = 100 + (i >= 10 && i < 20 ? 8 : 0) + noise();
	n = kq_changepoints(x, 30, &o, ch, 8);
	is_int(n, 2, "two planted steps found");
	ok(n == 2 && ch[0].at == 10 && ch[1].at == 20, "at 10 and 20 (got %zu, %zu)",
	   n > 0 ? ch[0].at : 0, n > 1 ? ch[1].at : 0);

	/* a step of 3 sigma in 40 runs: located within one run */
	int found = 0, near = 0;
	for (int trial = 0; trial < 50; trial++) {
		double y[40];
		for (int i = 0; i < 40; i++)
			y[i] = (i >= 25 ? 3 : 0) + noise();
		n = kq_changepoints(y, 40, &o, ch, 8);
		if (n >= 1)
			found++;
		for (int k = 0; k < n; k++)
			if (ch[k].at >= 24 && ch[k].at <= 26)
				near++;
	}
	ok(found >= 48, "3-sigma step detected in %d of 50 series", found);
	ok(near >= 45, "located within one run in %d of 50 series", near);

	double flat[] = {5, 5, 5, 5, 5, 5};
	is_int(kq_changepoints(flat, 6, &o, ch, 8), 0, "a constant series has no change");
	is_int(kq_changepoints(five, 3, &o, ch, 8), 0, "too short a series has none");
}

static void test_noise(void)
{
	struct kq_cp_opts o;
	struct kq_change ch[8];
	kq_cp_opts_default(&o);
	o.alpha = 0.05;
	o.sims = 499;
	/* 600 pure-noise series of 12 runs: flagged with probability alpha = 5%;
	 * binomial sd = 0.9%, so 2.5%..7.5% is about +-2.8 sd */
	int alarms = 0, total = 600;
	for (int s = 0; s < total; s++) {
		double y[12];
		for (int i = 0; i < 12; i++)
			y[i] = 50 + 2 * noise();
		o.seed = (uint64_t)s + 1; /* the rate over simulation draws too */
		if (kq_changepoints(y, 12, &o, ch, 8) > 0)
			alarms++;
	}
	double rate = (double)alarms / total;
	ok(rate >= 0.025 && rate <= 0.075, "pure noise: false-alarm rate %.3f at alpha 0.05", rate);
	/* heavier tails (Laplace noise) stay near the stated rate too */
	alarms = 0;
	for (int s = 0; s < total; s++) {
		double y[12];
		for (int i = 0; i < 12; i++) {
			double u = unif() - 0.5;
			y[i] = 50 - (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u));
		}
		o.seed = (uint64_t)s + 1;
		if (kq_changepoints(y, 12, &o, ch, 8) > 0)
			alarms++;
	}
	rate = (double)alarms / total;
	ok(rate <= 0.10, "Laplace noise: false-alarm rate %.3f (stated 0.05 for Gaussian)", rate);
}

int main(void)
{
	test_planted();
	test_noise();
	return done_testing();
}
