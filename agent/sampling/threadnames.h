/* Thread names as users know them: the Python `threading` name (Thread.name) when
 * it can be read, else the kernel's (/proc/self/task/TID/comm). */
#ifndef FILSPY_THREADNAMES_H
#define FILSPY_THREADNAMES_H

#include "filspy/pystack.h"

/* The name of thread t, reading threading._active again (at most every 100 ms)
 * when t is new to it. Valid until the next call; never NULL. Sampler thread only. */
const char *threadnames__get(const py_runtime *rt, const py_thread *t);

/* The name threadnames__get last gave thread tid, else the kernel's; never NULL. */
const char *threadnames__of(int tid);

/* Forgets every name (a forked child's threads are not the parent's). */
void threadnames__forget(void);

#endif
