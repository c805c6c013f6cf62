/* A thread woken at RATE Hz that does nothing else, until SIGTERM: the CPU any
 * sampler that wakes per sample pays on this host before it reads anything
 * (bench/cost.py's "wake floor" row). By default it sleeps as the agent's sampler
 * does, in a futex wait whose timeout ends at the next deadline; METHOD picks
 * another way of sleeping, to show that none of them is cheaper (docs/cost.md).
 *
 *     wake_floor RATE [futex|nanosleep|timerfd] */
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct timespec timespec_of(int64_t ns)
{
	return (struct timespec){ ns / 1000000000, ns % 1000000000 };
}

/* the sampler's way: a relative futex timeout to the next deadline */
static void sleep_futex(int64_t interval)
{
	int word = 0;
	for (int64_t next = now_ns();;) {
		next += interval;
		int64_t left = next - now_ns();
		if (left <= 0)
			continue;
		struct timespec t = timespec_of(left);
		syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0);
	}
}

static void sleep_nanosleep(int64_t interval)
{
	for (int64_t next = now_ns();;) {
		next += interval;
		struct timespec t = timespec_of(next);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
}

static int sleep_timerfd(int64_t interval)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec spec = { timespec_of(interval), timespec_of(interval) };
	if (fd < 0 || timerfd_settime(fd, 0, &spec, NULL) < 0) {
		perror("wake_floor: timerfd");
		return 1;
	}
	for (uint64_t expired;;)
		if (read(fd, &expired, sizeof(expired)) < 0)
			return 1;
}

int main(int argc, char **argv)
{
	long rate = argc > 1 ? atol(argv[1]) : 0;
	const char *method = argc > 2 ? argv[2] : "futex";
	if (rate <= 0 || rate > 100000) {
		fprintf(stderr, "usage: wake_floor RATE (1-100000 Hz) [futex|nanosleep|timerfd]\n");
		return 2;
	}
	int64_t interval = 1000000000 / rate;
	if (!strcmp(method, "futex"))
		sleep_futex(interval);
	else if (!strcmp(method, "nanosleep"))
		sleep_nanosleep(interval);
	else if (!strcmp(method, "timerfd"))
		return sleep_timerfd(interval);
	fprintf(stderr, "wake_floor: unknown METHOD %s (futex, nanosleep or timerfd)\n", method);
	return 2;
}
