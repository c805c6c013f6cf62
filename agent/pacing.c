/* The sampler's clock: each sample falls anywhere in its own slot of the grid
 * start + k * interval (stratified sampling).
 *
 * Work that repeats at the sampling period then gets its share with binomial
 * noise, as every sample sees an independent point of its cycle
 * (tests/system/programs/periodic.py), and long stretches of work get theirs with
 * less, as the grid does not drift: a stretch of n intervals holds n samples give
 * or take one. A random walk (each deadline the last one plus a jittered interval)
 * does one or the other. Steps of +-20 %, with a whole-interval step every 10th,
 * moved the phase so slowly that periodic.py's share spread 3.4 points at 800
 * samples, twice binomial, and failed test_periodic's 8-point bound about 1 run in
 * 50; steps of +-50 % spread shares.py's shares 1 point at 300 samples, where the
 * grid spreads them 0.6 (a simulation of the three, 3000 runs each). */
#include "pacing.h"

#include "filspy/rng.h"

void pacing__start(fs_pacing *p, int64_t start_ns, int64_t interval_ns, uint64_t seed)
{
	p->slot = start_ns;
	p->interval = interval_ns > 0 ? interval_ns : 1;
	p->rng = rng__seed(seed);
}

int64_t pacing__next(fs_pacing *p, int64_t now_ns)
{
	p->slot += p->interval;
	if (p->slot < now_ns)
		p->slot = now_ns; /* behind: skip the slots missed, do not burst to catch up */
	int64_t offset = (int64_t)(rng__next(&p->rng) % (uint64_t)(p->interval + 1));
	return p->slot + offset - p->interval / 2;
}
