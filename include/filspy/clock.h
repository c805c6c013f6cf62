/* The monotonic clock in nanoseconds, the one time base of samples, stops and
 * deadlines (CLOCK_MONOTONIC, as bpf_ktime_get_ns in the kernel). */
#ifndef FILSPY_CLOCK_H
#define FILSPY_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock__now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#endif
