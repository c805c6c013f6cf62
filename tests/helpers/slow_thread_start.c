/* LD_PRELOAD helper for tests: every thread the program starts first spends
 * SLOW_THREAD_START_MS milliseconds of CPU (100 by default) before its start
 * routine runs. A Python thread's state is made by the thread that starts it and
 * learns its tid only once the new thread runs Python: this holds a new thread in
 * that gap, where a sampler's list of threads finds a thread state without a tid
 * and a busy task in /proc it cannot tie to it. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct start {
	void *(*routine)(void *);
	void *arg;
};

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *slow_start(void *p)
{
	struct start s = *(struct start *)p;
	free(p);
	const char *ms = getenv("SLOW_THREAD_START_MS");
	double until = cpu_seconds() + (ms ? atof(ms) : 100.0) / 1000.0;
	while (cpu_seconds() < until)
		;
	return s.routine(s.arg);
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*routine)(void *),
		   void *arg)
{
	static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
	if (!real)
		real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
			dlsym(RTLD_NEXT, "pthread_create");
	struct start *s = malloc(sizeof(*s));
	if (!s)
		return real(thread, attr, routine, arg);
	*s = (struct start){ routine, arg };
	int err = real(thread, attr, slow_start, s);
	if (err)
		free(s);
	return err;
}
