/* A thread woken at RATE Hz that does nothing else, until SIGTERM: the CPU any
 * sampler that wakes per sample pays on this host before it reads anything
 * (bench/cost.py's "wake floor" row). It sleeps as the agent's sampler does, in a
 * futex wait whose timeout ends at the next deadline.
 *
 *     wake_floor RATE */
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long rate = argc > 1 ? atol(argv[1]) : 0;
	if (rate <= 0 || rate > 100000) {
		fprintf(stderr, "usage: wake_floor RATE (1-100000 Hz)\n");
		return 2;
	}
	int word = 0;
	int64_t interval = 1000000000 / rate, next = now_ns();
	for (;;) {
		next += interval;
		int64_t left = next - now_ns();
		if (left <= 0)
			continue;
		struct timespec t = { left / 1000000000, left % 1000000000 };
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
	}
}
