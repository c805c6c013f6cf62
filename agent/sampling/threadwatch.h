/* Which of the program's threads a sampling round must look at, without a system
 * call per thread: a thread that used no CPU cannot have run, so a round looks at
 * the threads that used some lately (the watched ones) and at all of them only
 * when the process's CPU time says that others ran. */
#ifndef FILSPY_THREADWATCH_H
#define FILSPY_THREADWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "filspy/pystack.h"

typedef struct threadwatch threadwatch;

threadwatch *threadwatch__new(void);
void threadwatch__free(threadwatch *w);

/* Called by the sampling thread at the start of a round. Copies the watched threads
 * into out (at most max) and returns how many, when the rest of the process used
 * no more CPU since the last round than threadwatch.c's tolerance (exact: none at
 * all, so that the others' stacks are still what they were) and no thread state
 * came; returns -1 when the round must list every thread and tell
 * threadwatch__scanned about each. With exact, out[*settling..] are threads that
 * stopped using CPU and are watched no more: read for the last time. */
int threadwatch__quiet(threadwatch *w, const py_runtime *rt, bool exact, py_thread *out,
		      int max, int *settling);

/* A round that lists every thread: begin, one call per thread, end. A thread is
 * watched from then on when it used CPU since the previous such round (or is new);
 * it stops being watched once it has used none for a while. threadwatch__scanned
 * returns false for a thread that used no CPU since then: it cannot be on a CPU
 * now, and the round need not ask. */
void threadwatch__scan_begin(threadwatch *w, const py_runtime *rt);
bool threadwatch__scanned(threadwatch *w, const py_thread *t);
void threadwatch__scan_end(threadwatch *w);

/* Rounds that looked at every thread, and rounds that looked at the watched ones. */
void threadwatch__counts(const threadwatch *w, uint64_t *scans, uint64_t *quiet);

#endif
