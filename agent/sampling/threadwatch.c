/* Threads that used CPU lately, told apart from the others by the scheduler's own
 * accounting. CLOCK_PROCESS_CPUTIME_ID is the sum of every thread's
 * sum_exec_runtime, and /proc/self/task/TID/schedstat gives one thread's: the
 * process's growth minus the watched threads' and the sampling thread's own is what
 * every other thread used. Both figures are the scheduler's as of its last update
 * (a tick or a context switch), so they agree to the nanosecond except when a tick
 * falls between the reads, which the running sum below evens out. A round then
 * costs one clock read and one read per watched thread, however many idle threads
 * the program has (200 idle threads cost a read each, every round, before).
 *
 * What it can miss: threads outside the watched set that together use less than
 * TOLERANCE_SHARE of the wall time since the last full round are not looked at
 * until that share is exceeded or RESCAN_NS passes; a sample of them would have had
 * that share's chance of finding them on a CPU.
 *
 * A thread state is made by the thread that starts the thread, and learns its tid
 * only when the new thread runs (until then it holds none, 3.12+, or its maker's,
 * 3.6-3.11): a full round between the two lists it without its own, and the new
 * thread's tid, found in /proc, passes for a thread without Python. Watched as
 * that, its CPU time is accounted for and it was never sampled (a thread started
 * under load: 80 % of a run's samples missing). So while a full round lists a
 * thread state without a tid or with one listed before it, full rounds come
 * again every UNBOUND_NS, for at most UNBOUND_FOR_NS (a thread in several
 * sub-interpreters has a thread state in each, for good). */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "filspy/clock.h"
#include "procthreads.h"
#include "threadwatch.h"

#define WATCH_MAX 1024
#define SEEN_SLOTS 4096u              /* a power of two, > 2 * threads listed */
#define TOLERANCE_SHARE 100           /* 1 % of the wall time since the full round */
#define TOLERANCE_MIN_NS 2000000LL    /* and never less than 2 ms: ticks are 1-10 ms */
#define IDLE_NS 50000000LL            /* unwatched after 50 ms without CPU */
#define RESCAN_NS 10000000000LL       /* a full round at least every 10 s */
#define MARK_EVERY_NS 10000000LL      /* the thread list's mark looked at */
#define UNBOUND_NS 1000000LL          /* a full round again while a tid is unsure */
#define UNBOUND_FOR_NS 1000000000LL   /* for this long at most */

struct watched {
	py_thread t;                      /* t.tstate 0: a thread without Python */
	uint64_t cpu;
	int64_t used_at;                  /* when its CPU time last grew */
};

struct seen {
	int tid;                          /* 0: empty slot */
	uint64_t cpu;                     /* at the last full round */
};

struct threadwatch {
	bool ready;                       /* the figures below are a baseline */
	int own_tid;
	uint64_t process, own;            /* CPU time at the last round */
	int64_t scan_at;                  /* the last full round */
	int64_t unaccounted;              /* CPU of unwatched threads since then */
	int n;
	struct watched w[WATCH_MAX];
	py_thread settled[WATCH_MAX];
	struct seen *seen, *seen_next;    /* by tid: last full round's, this one's */
	uint64_t scans, quiet;
	bool unbound;                     /* the full round listed a tid of 0 or twice */
	int64_t unbound_since;            /* the first of such rounds in a row (0: none) */
	uintptr_t list_mark;              /* pythreads__list_mark at the full round */
	int64_t marked_at;                /* when it was last compared */
	timer_t timer;
	bool has_timer;
};

/* Reading the process's CPU clock sums every thread's, cache-cold: 200 idle threads
 * made it cost 24 us a round. While a process-wide CPU timer is armed, the kernel
 * keeps that sum up to date as threads run (as it does for setitimer(ITIMER_PROF)
 * profilers) and the read takes one atomic load. The kernel arms no SIGEV_NONE
 * timer, so this one would signal the calling thread, the sampler, which blocks
 * every signal, and is due after a century of CPU time: it only switches that
 * accounting on. Called on the sampling thread. */
static void arm_process_timer(threadwatch *w)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGURG };
	ev._sigev_un._tid = (int)syscall(SYS_gettid);
	if (timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &w->timer) < 0)
		return;
	w->has_timer = true;
	struct itimerspec due = { .it_value = { .tv_sec = 100LL * 365 * 86400 } };
	timer_settime(w->timer, 0, &due, NULL);
}

threadwatch *threadwatch__new(void)
{
	threadwatch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->seen = calloc(SEEN_SLOTS, sizeof(*w->seen));
	w->seen_next = calloc(SEEN_SLOTS, sizeof(*w->seen_next));
	if (!w->seen || !w->seen_next) {
		threadwatch__free(w);
		return NULL;
	}
	arm_process_timer(w);
	return w;
}

void threadwatch__free(threadwatch *w)
{
	if (!w)
		return;
	if (w->has_timer)
		timer_delete(w->timer);
	free(w->seen);
	free(w->seen_next);
	free(w);
}

static struct seen *slot(struct seen *table, int tid)
{
	for (unsigned i = ((unsigned)tid * 2654435761u) & (SEEN_SLOTS - 1);;
	     i = (i + 1) & (SEEN_SLOTS - 1))
		if (table[i].tid == tid || !table[i].tid)
			return &table[i];
}

static uint64_t cpu_clock(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The process's and this thread's CPU time; false when they cannot be read. Our
 * own clock first: reading it brings the scheduler's figures for this thread up to
 * now, in the process's sum too, so the two agree as schedstat's did, for a
 * clock_gettime instead of a pread of /proc (a third of the time). */
static bool read_own(threadwatch *w, uint64_t *process, uint64_t *own)
{
	if (!w->own_tid)
		w->own_tid = (int)syscall(SYS_gettid);
	*own = cpu_clock(CLOCK_THREAD_CPUTIME_ID);
	*process = cpu_clock(CLOCK_PROCESS_CPUTIME_ID);
	return *process && *own;
}

int threadwatch__quiet(threadwatch *w, const py_runtime *rt, bool exact, py_thread *out,
		      int max, int *settling)
{
	int64_t now = clock__now_ns();
	uint64_t process, own;
	/* a new thread state, or one for a thread that already has one (it entered a
	 * sub-interpreter: its CPU time then goes on under the watched state); looked
	 * at every MARK_EVERY_NS, not every round at 1 kHz */
	if (now - w->marked_at >= MARK_EVERY_NS) {
		uintptr_t mark = pythreads__list_mark(rt);
		w->marked_at = now;
		if (!mark || mark != w->list_mark)
			return -1;
	}
	bool unsure = w->unbound_since && now - w->unbound_since < UNBOUND_FOR_NS;
	if (!w->ready || now - w->scan_at > (unsure ? UNBOUND_NS : RESCAN_NS) ||
	    !read_own(w, &process, &own))
		return -1;
	int64_t watched_used = 0;
	for (int i = 0; i < w->n; i++) {
		uint64_t cpu;
		if (procthreads__cpu_ns(w->w[i].t.tid, &cpu) < 0)
			return -1; /* it ended: the list changed */
		if (cpu != w->w[i].cpu)
			w->w[i].used_at = now;
		watched_used += (int64_t)(cpu - w->w[i].cpu);
		w->w[i].cpu = cpu;
	}
	int64_t others = (int64_t)(process - w->process) - (int64_t)(own - w->own) - watched_used;
	w->process = process;
	w->own = own;
	/* a tick between two reads shows as + here and - in the next round */
	w->unaccounted = w->unaccounted + others > 0 ? w->unaccounted + others : 0;
	int64_t allowed = (now - w->scan_at) / TOLERANCE_SHARE;
	if (exact ? w->unaccounted > 0 :
		    w->unaccounted > (allowed > TOLERANCE_MIN_NS ? allowed : TOLERANCE_MIN_NS))
		return -1;
	/* threads that used no CPU for IDLE_NS stop being watched; with exact they are
	 * given out once more, after the others, for the caller to keep their last
	 * sample (its count then goes on without reading them) */
	int k = 0, copied = 0, settled = 0;
	for (int i = 0; i < w->n; i++) {
		if (now - w->w[i].used_at <= IDLE_NS) {
			w->w[k++] = w->w[i];
			if (w->w[i].t.tstate && copied < max)
				out[copied++] = w->w[i].t;
		} else if (exact && w->w[i].t.tstate) {
			w->settled[settled++] = w->w[i].t;
		}
	}
	w->n = k;
	*settling = copied;
	for (int i = 0; i < settled && copied < max; i++)
		out[copied++] = w->settled[i];
	w->quiet++;
	return copied;
}

void threadwatch__scan_begin(threadwatch *w, const py_runtime *rt)
{
	w->list_mark = pythreads__list_mark(rt);
	w->marked_at = clock__now_ns();
	w->n = 0;
	w->unbound = false;
	memset(w->seen_next, 0, SEEN_SLOTS * sizeof(*w->seen_next));
}

bool threadwatch__scanned(threadwatch *w, const py_thread *t)
{
	uint64_t cpu;
	/* not started yet (or a tid this Python does not tell), or its maker's */
	if (!t->tid || slot(w->seen_next, t->tid)->tid)
		w->unbound = true;
	if (!t->tid || procthreads__cpu_ns(t->tid, &cpu) < 0)
		return true; /* cannot tell: look at it */
	struct seen *before = slot(w->seen, t->tid), *now = slot(w->seen_next, t->tid);
	bool used = !before->tid || before->cpu != cpu;
	*now = (struct seen){ t->tid, cpu };
	if (used && w->n < WATCH_MAX)
		w->w[w->n++] = (struct watched){ *t, cpu, clock__now_ns() };
	return used;
}

/* The process's threads that have no thread state (native thread pools, the
 * agent's own): watched too when they use CPU, or their CPU time would make every
 * round a full one. */
static void scan_others(threadwatch *w)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return;
	int64_t now = clock__now_ns();
	for (struct dirent *e; (e = readdir(d));) {
		int tid = atoi(e->d_name);
		uint64_t cpu;
		if (tid <= 0 || tid == w->own_tid || slot(w->seen_next, tid)->tid)
			continue; /* not a thread, this one, or listed with its thread state */
		if (procthreads__cpu_ns(tid, &cpu) < 0)
			continue;
		struct seen *before = slot(w->seen, tid);
		bool used = !before->tid || before->cpu != cpu;
		*slot(w->seen_next, tid) = (struct seen){ tid, cpu };
		if (used && w->n < WATCH_MAX)
			w->w[w->n++] = (struct watched){ { .tid = tid }, cpu, now };
	}
	closedir(d);
}

void threadwatch__scan_end(threadwatch *w)
{
	if (!w->own_tid)
		w->own_tid = (int)syscall(SYS_gettid);
	scan_others(w);
	struct seen *swap = w->seen;
	w->seen = w->seen_next;
	w->seen_next = swap;
	w->scan_at = clock__now_ns();
	w->unaccounted = 0;
	if (!w->unbound)
		w->unbound_since = 0;
	else if (!w->unbound_since)
		w->unbound_since = w->scan_at;
	/* more threads use CPU than are watched: the next rounds list them all again */
	w->ready = w->n < WATCH_MAX && read_own(w, &w->process, &w->own);
	w->scans++;
}

void threadwatch__counts(const threadwatch *w, uint64_t *scans, uint64_t *quiet)
{
	*scans = w->scans;
	*quiet = w->quiet;
}
