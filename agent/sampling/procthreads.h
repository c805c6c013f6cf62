/* Kernel thread state and names from /proc/self/task (files kept open per thread). */
#ifndef FILSPY_PROCTHREADS_H
#define FILSPY_PROCTHREADS_H

#include <stdbool.h>
#include <stdint.h>

bool procthreads__running(int tid);
bool procthreads__exists(int tid);  /* the task is still in /proc/self/task */
const char *procthreads__name(int tid);
void procthreads__forget(void);  /* closes cached files, after fork or at the end */

/* Where thread tid is blocked, from /proc/self/task/TID/syscall: 1 when it runs (or
 * may run), 0 when blocked, with *nr the system call (-1: blocked outside any) and
 * *arg1 its first argument, -1 when unknown (the thread is gone). */
int procthreads__syscall(int tid, long *nr, unsigned long *arg1);

/* CPU time thread tid has used, in ns, as the scheduler last brought it up to date
 * (at a tick or when the thread left its CPU): the figure that the process's CPU
 * clock sums. Returns 0, or -1 when the thread is gone. */
int procthreads__cpu_ns(int tid, uint64_t *ns);

#endif
