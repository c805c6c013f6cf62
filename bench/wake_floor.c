/* A thread woken at RATE Hz that does nothing else, until SIGTERM: the CPU any
 * sampler that wakes per sample pays on this host before it reads anything
 * (bench/cost.py's "wake floor" row). By default it sleeps as the agent's sampler
 * does, in a futex wait whose timeout ends at the next deadline; METHOD picks
 * another way of sleeping, to show that none of them is cheaper (docs/cost.md).
 *
 * ppoll3 sleeps as the bpf backend's sampler does, in ppoll() on an epoll
 * descriptor (libbpf's, for the ring buffer), an eventfd and a listening socket;
 * epoll3 in one epoll_pwait2() on a descriptor that holds those three.
 *
 *     wake_floor RATE [futex|nanosleep|timerfd|ppoll3|epoll3] */
#include <linux/futex.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* The time left until the next deadline still ahead (deadlines already past are
 * skipped), which *next becomes: the relative timeout every way below waits for. */
static struct timespec until_next(int64_t *next, int64_t interval)
{
	int64_t left;
	do {
		*next += interval;
		left = *next - now_ns();
	} while (left <= 0);
	return timespec_of(left);
}

/* the sampler's way: a relative futex timeout to the next deadline */
static void sleep_futex(int64_t interval)
{
	int word = 0;
	for (int64_t next = now_ns();;) {
		struct timespec t = until_next(&next, interval);
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

/* the bpf sampler's three descriptors: an epoll one (empty, as libbpf's is
 * between records), an eventfd and a listening socket in the abstract namespace */
static int three_fds(int fds[3])
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "wake_floor-%d", (int)getpid());
	fds[0] = epoll_create1(EPOLL_CLOEXEC);
	fds[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fds[2] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0 ||
	    bind(fds[2], (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fds[2], 4) < 0) {
		perror("wake_floor: descriptors");
		return -1;
	}
	return 0;
}

static int sleep_ppoll3(int64_t interval)
{
	int fds[3];
	if (three_fds(fds) < 0)
		return 1;
	struct pollfd p[3] = { { fds[0], POLLIN, 0 }, { fds[1], POLLIN, 0 }, { fds[2], POLLIN, 0 } };
	for (int64_t next = now_ns();;) {
		struct timespec t = until_next(&next, interval);
		ppoll(p, 3, &t, NULL);
	}
}

static int sleep_epoll3(int64_t interval)
{
	int fds[3], ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || three_fds(fds) < 0)
		return 1;
	for (int i = 0; i < 3; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) < 0) {
			perror("wake_floor: epoll_ctl");
			return 1;
		}
	}
	struct epoll_event got[3];
	for (int64_t next = now_ns();;) {
		struct timespec t = until_next(&next, interval);
		epoll_pwait2(ep, got, 3, &t, NULL);
	}
}

int main(int argc, char **argv)
{
	long rate = argc > 1 ? atol(argv[1]) : 0;
	const char *method = argc > 2 ? argv[2] : "futex";
	if (rate <= 0 || rate > 100000) {
		fprintf(stderr, "usage: wake_floor RATE (1-100000 Hz) [futex|nanosleep|timerfd|ppoll3|epoll3]\n");
		return 2;
	}
	int64_t interval = 1000000000 / rate;
	if (!strcmp(method, "futex"))
		sleep_futex(interval);
	else if (!strcmp(method, "nanosleep"))
		sleep_nanosleep(interval);
	else if (!strcmp(method, "timerfd"))
		return sleep_timerfd(interval);
	else if (!strcmp(method, "ppoll3"))
		return sleep_ppoll3(interval);
	else if (!strcmp(method, "epoll3"))
		return sleep_epoll3(interval);
	fprintf(stderr, "wake_floor: unknown METHOD %s (futex, nanosleep, timerfd, ppoll3 or epoll3)\n",
		method);
	return 2;
}
