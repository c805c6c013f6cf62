/* One small PRNG (xorshift64*) for sampling jitter, clock restarts and rounding:
 * they only need to break aliasing with periodic work, not to be unpredictable. */
#ifndef FILSPY_RNG_H
#define FILSPY_RNG_H

#include <stdint.h>

/* A non-zero state from a seed (e.g. the clock and the pid). */
static inline uint64_t rng__seed(uint64_t seed)
{
	seed ^= 0x9e3779b97f4a7c15ULL;
	return seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static inline uint64_t rng__next(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, 1). */
static inline double rng__unit(uint64_t *state)
{
	return (double)(rng__next(state) >> 11) / (double)(1ULL << 53);
}

#endif
