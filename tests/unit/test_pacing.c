/* The sampler's clock (agent/pacing.c): the rate asked, each sample in its own
 * slot, no burst after a stall, and no point of a cycle at the period favoured. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "pacing.h"

#define I 10000000LL /* 10 ms: 100 Hz */

Test(pacing, each_deadline_falls_in_its_own_slot_and_the_rate_is_kept)
{
	fs_pacing p;
	pacing__start(&p, 5 * I, I, 42);
	int64_t now = 5 * I, deadline = 0;
	for (int64_t k = 1; k <= 100000; k++) {
		deadline = pacing__next(&p, now);
		cr_assert(deadline >= 5 * I + k * I - I / 2 && deadline <= 5 * I + k * I + I / 2,
			  "sample %lld at %lld", (long long)k, (long long)deadline);
		now = deadline > now ? deadline : now; /* sampling takes no time */
	}
	/* the grid does not drift: 100000 intervals hold 100000 samples */
	cr_assert(llabs(deadline - (5 * I + 100000 * I)) <= I / 2);
}

Test(pacing, a_stall_skips_the_slots_missed_instead_of_bursting)
{
	fs_pacing p;
	pacing__start(&p, 0, I, 7);
	int64_t now = pacing__next(&p, 0);
	now += 100 * I; /* the sampler was not scheduled for a second */
	int at_once = 0;
	for (int k = 0; k < 100; k++) {
		int64_t deadline = pacing__next(&p, now);
		at_once += deadline <= now;
		/* at most two intervals apart: the end of one slot to the end of the next */
		cr_assert(deadline <= now + 2 * I, "a gap of %lld ns", (long long)(deadline - now));
		now = deadline > now ? deadline : now;
	}
	/* only the first, when its draw fell before the end of the stall */
	cr_assert(at_once <= 1, "%d of 100 samples at once", at_once);
	cr_assert(now >= 100 * I + 100 * I - I, "100 samples took %lld ns", (long long)(now - 100 * I));
}

/* Work of period `period`, 40 % of it in a first part, sampled 800 times in each
 * of `runs` runs: the first part's share is unbiased and spreads no wider than
 * max_ratio times the binomial variance. */
static void assert_unfavoured(int64_t period, int runs, double max_ratio)
{
	const int n = 800;
	double sum = 0, sum2 = 0;
	for (int r = 0; r < runs; r++) {
		fs_pacing p;
		pacing__start(&p, 0, I, (uint64_t)period * 977 + (uint64_t)r);
		int64_t now = 0;
		int first = 0;
		for (int k = 0; k < n; k++) {
			int64_t deadline = pacing__next(&p, now);
			first += (deadline % period + period) % period < period * 4 / 10;
			now = deadline > now ? deadline : now;
		}
		double share = (double)first / n;
		sum += share;
		sum2 += share * share;
	}
	/* variances, not deviations: no libm */
	double mean = sum / runs, var = sum2 / runs - mean * mean;
	double binomial = 0.4 * 0.6 / n;
	cr_assert((mean - 0.4) * (mean - 0.4) < 16 * binomial / runs,
		  "work of period %lld us: mean share %.4f", (long long)(period / 1000), mean);
	cr_assert(var < max_ratio * binomial, "work of period %lld us: variance %.2f times binomial",
		  (long long)(period / 1000), var / binomial);
}

/* Work of 4 ms then 6 ms, every 10 ms (tests/system/programs/periodic.py): each
 * sample is an independent point of the cycle, so the first part's share is
 * binomial. */
Test(pacing, work_in_step_with_the_period_gets_its_share_with_binomial_noise)
{
	assert_unfavoured(I, 200, 1.3 * 1.3);
}

/* The same for work of any period from 1 to 100 ms (a quarter ms apart): no period
 * lines up with the clock. The random walk this replaced had up to 5 times the
 * binomial variance near 10 ms (this test fails it from a period of 9.5 ms on). */
Test(pacing, no_period_of_work_is_favoured)
{
	for (int64_t period = I / 10; period <= 10 * I; period += I / 40)
		assert_unfavoured(period, 60, 2);
}

Test(pacing, a_poll_falls_between_half_and_one_and_a_half_waits_evenly)
{
	fs_pacing p;
	pacing__start(&p, 0, I, 11);
	const int64_t wait = 100000000LL, now = 123456789LL;
	int below = 0, n = 100000;
	double sum = 0;
	for (int k = 0; k < n; k++) {
		int64_t deadline = pacing__around(&p, now, wait);
		cr_assert(deadline >= now + wait / 2 && deadline <= now + wait * 3 / 2,
			  "%lld", (long long)(deadline - now));
		below += deadline < now + wait;
		sum += (double)(deadline - now);
	}
	/* even: the mean is the wait asked, half of them fall before it */
	cr_assert(sum / n > 0.99 * wait && sum / n < 1.01 * wait, "mean %.0f", sum / n);
	cr_assert(below > n * 49 / 100 && below < n * 51 / 100, "%d of %d below", below, n);
	cr_assert_eq(pacing__around(&p, now, 1), now + 1);
}
