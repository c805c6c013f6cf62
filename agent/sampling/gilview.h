/* The GIL view (output format `gil`): every thread's samples, wall-clock, under a
 * first-level frame saying what the thread did with the GIL, and a per-thread table
 * of those shares. Filled by the backends that classify threads (self, bpf). */
#ifndef FILSPY_GILVIEW_H
#define FILSPY_GILVIEW_H

#include <stdbool.h>
#include <stdio.h>

#include "agent.h"
#include "filspy/writers.h"
#include "sampling/stacks.h"
#include "sampling/threadstate.h"

/* Starts an empty view when a->settings asks for the gil format (again in a forked
 * child: the parent's samples are dropped). Returns 0, or -ENOMEM. */
int gilview__start(fs_agent *a);

/* True when the view is being collected. */
bool gilview__on(void);

/* Adds one sample of thread tid in state s, standing for weight samples, to the
 * view (and to a->profile too when to_main), frames as stacks__add takes them.
 * name: the thread's name. */
void gilview__add(fs_agent *a, stack_builder *b, bool to_main, enum fs_thread_state s,
		  int tid, const char *name, const py_frame_ref *frames,
		  const uint32_t *checks, int depth, bool truncated, uint64_t weight);

/* Writes the view as a flamegraph with the per-thread table (an outputs writer).
 * Returns 0 or -errno. */
int gilview__write(const fs_profile_meta *meta, FILE *f);

/* Prints the summary line on stderr when more than one thread was busy; path is
 * the file written. */
void gilview__summary(const char *path);

#endif
