/* When the sampler samples next: the rate asked, jittered so that no work that
 * repeats at the sampling period is seen at one point of its cycle. */
#ifndef FILSPY_PACING_H
#define FILSPY_PACING_H

#include <stdint.h>

typedef struct {
	int64_t slot;     /* the middle of the current slot, CLOCK_MONOTONIC ns */
	int64_t interval; /* ns */
	uint64_t rng;
} fs_pacing;

/* The grid starts at start_ns; seed: anything that differs between processes. */
void pacing__start(fs_pacing *p, int64_t start_ns, int64_t interval_ns, uint64_t seed);

/* The deadline of the next sample, drawn in the next slot; now_ns: the clock when
 * the last sample is done. A deadline may be at or before now_ns (sample at once). */
int64_t pacing__next(fs_pacing *p, int64_t now_ns);

/* A deadline about wait_ns after now_ns, drawn evenly between half and one and a
 * half times it (for polls, whose moments restart the bpf backend's clocks). */
int64_t pacing__around(fs_pacing *p, int64_t now_ns, int64_t wait_ns);

#endif
