/* Threads off their CPU, for the bpf backend's off-CPU time: where each stopped and
 * why, kept until it runs again, when the time in between gives the stack its
 * weight. Used by the sampling thread only. */
#ifndef FILSPY_OFFCPU_H
#define FILSPY_OFFCPU_H

#include <stdbool.h>
#include <stdint.h>

#include "filspy/pystack.h"
#include "sampling/threadstate.h"

typedef struct offcpu_stop {
	int tid;                   /* 0: free slot */
	bool pending;              /* off its CPU since `since` */
	bool guessed;              /* read from user space, not recorded by the kernel */
	enum fs_thread_state state;
	uint64_t since;            /* ns, CLOCK_MONOTONIC */
	uint64_t woke_from_gil;    /* when it last ran again after a wait for the GIL */
	int depth;
	bool truncated;
	py_frame_ref *frames;      /* innermost first, capacity entries */
	uint32_t *checks;
	int capacity;
	stack_item *items;         /* FIL_PERF_SPY_NATIVE: the merged stack, n_items long */
	size_t n_items, items_capacity;
} offcpu_stop;

typedef struct offcpu_table offcpu_table;

/* An empty table for up to max_threads threads, or NULL. */
offcpu_table *offcpu__new(int max_threads);
void offcpu__free(offcpu_table *t);

/* Thread tid's entry, NULL when it has none. */
offcpu_stop *offcpu__find(offcpu_table *t, int tid);

/* Thread tid's entry, added when missing, with room for depth frames; NULL when
 * the table is full or memory ran out. */
offcpu_stop *offcpu__prepare(offcpu_table *t, int tid, int depth);

/* Keeps a copy of the merged native stack items[0..n) in e (n 0: none). Returns 0,
 * -1 when memory ran out (e then has none). */
int offcpu__keep_items(offcpu_stop *e, const stack_item *items, size_t n);

/* Drops thread tid's entry (the thread ended). */
void offcpu__forget(offcpu_table *t, int tid);

/* Every entry in turn: start with *cursor = 0; NULL at the end. */
offcpu_stop *offcpu__each(offcpu_table *t, int *cursor);

/* How many samples of period_ns ns the time ns stands for: the whole periods,
 * plus one with the probability of the rest, so that short stops add up to their
 * true time on average instead of vanishing. */
uint64_t offcpu__samples(offcpu_table *t, uint64_t ns, uint64_t period_ns);

#endif
