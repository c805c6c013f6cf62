/* What the bpf backend's three files share: its state, and the entry points of
 * bpf_threads.c (the program's thread map) and bpf_records.c (records -> samples)
 * that bpf.c (lifecycle) calls. Private to agent/backends/bpf*.c. */
#ifndef FILSPY_BPF_INTERNAL_H
#define FILSPY_BPF_INTERNAL_H

#include <stdint.h>

#include "agent.h"
#include "filspy/clock.h"
#include "filspy/pystack.h"
#include "filspy/pystacks.h"
#include "filspy/pystacks_api.h"
#include "sampling/nativestack.h"
#include "sampling/offcpu.h"
#include "sampling/stacks.h"

#define MAX_THREADS 1024
/* The longest wait between two polls when nothing calls sooner (bpf.c) */
#define POLL_QUIET_NS 100000000LL

struct bpf_state {
	py_runtime rt;
	void *library;
	const fsbpf_interface_t *api;
	fsbpf_session *session;
	struct fsbpf_plan plan;
	py_thread listed[MAX_THREADS];
	/* what the program's threads map holds, sorted by tid (two sets: the next
	 * is built from the current one and the list) */
	struct mapped { uint64_t tid, tstate; int missed; } mapped[2][MAX_THREADS];
	int n_mapped, current;
	int by_tid[MAX_THREADS];   /* indices into listed, sorted by tid */
	uint64_t next_sync;        /* CLOCK_MONOTONIC ns */
	uintptr_t list_mark;       /* pythreads__list_mark at the last look */
	uint64_t list_changed_at, synced_at;
	/* the last FSBPF_UNMAPPED record's thread (0 once it is mapped) and time:
	 * look at the list, and again soon while a new thread state has no tid yet */
	uint32_t nudged_tid;
	uint64_t nudged_at;
	uint64_t next_restart;     /* of the clocks, CLOCK_MONOTONIC ns */
	uint64_t random;           /* xorshift64 state */
	py_frame_ref frames[FSBPF_MAX_FRAMES];
	uint32_t checks[FSBPF_MAX_FRAMES];
	bool entries[FSBPF_MAX_FRAMES];  /* per frame: FSBPF_CODE_ENTRY */
	int merge_depth;           /* Python frames of the native stack unwound last */
	native_stacks *native;     /* FIL_PERF_SPY_NATIVE, when libfilspy-native.so works */
	stack_builder stacks;
	offcpu_table *off_cpu;     /* NULL unless off-CPU time is asked for */
	uint64_t period_ns;        /* one sample's worth of time */
	uint64_t records, filtered, off_cpu_samples, unmatched;
	char why[320];
};

static inline uint64_t now_ns(void)
{
	return (uint64_t)clock__now_ns();
}

/* bpf_threads.c: keeps the program's thread map equal to the interpreter's list of
 * threads (and, with off-CPU time, gives a newly listed sleeping thread its stop,
 * and ends the stop of a thread found gone). */
void bpf_threads__sync(fs_agent *a, struct bpf_state *st);

/* Whether the program's threads map holds thread tid (as of the last sync). */
bool bpf_threads__mapped(const struct bpf_state *st, uint64_t tid);

/* bpf_records.c: turns one record of the ring buffer into samples or a stop; ctx
 * is the fs_agent whose backend_state st is (an fsbpf_record_fn). */
void bpf_records__on_record(void *ctx, const struct fsbpf_sample *head,
			    const struct fsbpf_frame *frames);

/* Ends every stop still pending at time now: threads still off their CPU count
 * until then. */
void bpf_records__end_stops(fs_agent *a, struct bpf_state *st, uint64_t now);

/* Ends thread tid's stop, if one is pending, at time now (the thread is gone). */
void bpf_records__end_stop(fs_agent *a, struct bpf_state *st, int tid, uint64_t now);

/* Schedules the first restart of the clocks (st->period_ns set), their jitter
 * seeded by the time and pid. */
void bpf_records__start_clocks(struct bpf_state *st, int pid);

/* Restarts the clocks at a new jittered rate when it is time (now: CLOCK_MONOTONIC
 * ns), on the sampler's jittered polls. */
void bpf_records__tick_clocks(struct bpf_state *st, uint64_t now);

#endif
