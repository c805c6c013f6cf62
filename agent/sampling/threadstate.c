/* Classifies a sampled thread by the GIL holder and by where the kernel has it
 * blocked: a futex wait inside the GIL struct is a wait for the GIL, any other
 * block is idleness. Used by the sampler thread only. */
#include <sys/syscall.h>

#include "sampling/threadstate.h"
#include "sampling/procthreads.h"

/* Each thread's state at its previous sample, by tid (a collision only costs the
 * hint it gives). */
#define LAST_SLOTS 256
static struct {
	int tid;
	unsigned char state;
} last[LAST_SLOTS];

static bool was_waiting(int tid)
{
	return last[(unsigned)tid % LAST_SLOTS].tid == tid &&
	       last[(unsigned)tid % LAST_SLOTS].state == TS_WAITING;
}

void threadstate__gil(const py_runtime *rt, uintptr_t interp, gil_info *g)
{
	if (g->interp == interp && interp)
		return;
	*g = (gil_info){ .interp = interp };
	g->knows_holder = pyruntime__knows_gil(rt);
	if (pyruntime__gil_range(rt, interp, &g->start, &g->size) < 0)
		g->start = 0;
}

static enum fs_thread_state classify(const py_runtime *rt, const gil_info *g,
				     const py_thread *t, bool *running)
{
	long nr = -1;
	unsigned long arg1 = 0;
	int r = t->tid ? procthreads__syscall(t->tid, &nr, &arg1) : 1;
	if (r < 0) /* gone between the list and now, or /proc refused: ask stat */
		r = procthreads__running(t->tid) ? 1 : 0;
	*running = r == 1;
	/* the holder first: one blocked in a call that keeps the GIL still holds it */
	uintptr_t holder = g->knows_holder ? pyruntime__gil_holder(rt, t->interp) : 0;
	if (holder && holder == t->tstate)
		return TS_HOLDING;
	/* runnable and not the holder: C code that released the GIL, or a waiter the
	 * GIL's cond woke that has not run yet to take it (a short moment on an idle
	 * machine, longer when the CPUs are busy). /proc cannot tell them apart; a
	 * thread that was waiting at its last sample while another holds the GIL now
	 * is taken for the woken waiter. */
	if (r == 1)
		return holder && was_waiting(t->tid) ? TS_WAITING : TS_RUNNING;
	/* pthread_cond_wait and a contended pthread_mutex_lock both sleep in futex()
	 * on a word of the cond or mutex, and the GIL struct embeds both */
	if (nr == SYS_futex && g->start && arg1 >= g->start && arg1 < g->start + g->size)
		return TS_WAITING;
	return TS_IDLE;
}

enum fs_thread_state threadstate__classify(const py_runtime *rt, const gil_info *g,
					   const py_thread *t, bool *running)
{
	enum fs_thread_state s = classify(rt, g, t, running);
	if (t->tid) {
		last[(unsigned)t->tid % LAST_SLOTS].tid = t->tid;
		last[(unsigned)t->tid % LAST_SLOTS].state = (unsigned char)s;
	}
	return s;
}

const char *threadstate__label(enum fs_thread_state s)
{
	static const char *const labels[TS_COUNT] = {
		[TS_HOLDING] = "holding the GIL",
		[TS_WAITING] = "waiting for the GIL",
		[TS_IDLE] = "idle",
		[TS_RUNNING] = "running without the GIL",
	};
	return (unsigned)s < TS_COUNT ? labels[s] : "unknown";
}
