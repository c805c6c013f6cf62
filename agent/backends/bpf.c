/* The `bpf` backend: a perf-event program samples whichever of our threads is on a
 * CPU and walks its Python frames in the kernel (bpf/pystacks.bpf.c). This side,
 * on the sampling thread, loads it through libfilspy-bpf.so (dlopen: libbpf, libelf
 * and zlib never weigh on the preload), tells it which PyThreadState each kernel
 * thread runs, and turns its records into profile stacks with the self backend's symbol
 * cache. For idle threads and the GIL view it also loads the sched_switch program:
 * a thread's stack when it leaves its CPU, weighed by the time until it runs
 * again, stands for the samples a wall clock would have taken meanwhile.
 * Here: the backend's life and the library's loading; bpf_threads.c keeps the
 * thread map, bpf_records.c turns records into samples. */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/bpf_internal.h"
#include "filspy/log.h"
#include "filspy/symcache.h"
#include "sampling/gilview.h"
#include "sampling/threadnames.h"
#include "sibling.h"

#define LIBRARY "libfilspy-bpf.so"
#define SYNC_SHARE 20
#define SYNC_MAX_NS 200000000ULL
#define SETTLE_NS 500000000ULL   /* syncs go on this long after the list changed */
#define RESYNC_NS 2000000000ULL  /* and happen at least this often */
/* Polls come every POLL_SETTLING_NS while the thread list settles (a new thread
 * publishes its tid once it runs) and while the records bring stacks the stack
 * cache does not know: their code objects are read when they are drained, and
 * some live only moments (a module's body ends with its import: with 100 ms
 * drains test_views' import tower had 11 of its 62 samples named too late, 3
 * runs in 3; none with 20 ms). Else every
 * POLL_QUIET_NS (bpf_internal.h) at most: a stack seen before needs nothing read,
 * and the program calls sooner through a->poll_fd when the ring buffer fills or a
 * thread of ours has no map entry. Each poll is a wake-up, 20-30 us of CPU on a
 * virtual machine: 50 of them a second were most of the user side's cost at 1 kHz. */
#define POLL_SETTLING_NS 20000000LL
#define POLL_MIN_NS 1000000LL
/* A thread that woke the sampler, unmapped still: a state the list has had for
 * less than SETTLE_NS, whose thread publishes its tid once it runs (3.12+), a
 * moment after its first tick. Polls come every POLL_MIN_NS that long at most. */
#define NUDGE_FOLLOW_NS 20000000ULL

static void release(struct bpf_state *st)
{
	if (st->session)
		st->api->close(st->session);
	if (st->library)
		dlclose(st->library);
	offcpu__free(st->off_cpu);
	symcache__free(st->stacks.cache);
	stacks__release(&st->stacks);
	nativestack__close(st->native);
	free(st);
}

/* FIL_PERF_SPY_NATIVE: the unwinder, and the stack copy the program then makes */
static void native_start(fs_agent *a, struct bpf_state *st)
{
	char why[320];
	st->native = nativestack__open(why, sizeof(why));
	if (!st->native) {
		fs_warn("FIL_PERF_SPY_NATIVE: %s; the bpf backend leaves native frames out", why);
		return;
	}
	st->plan.native_stack = (uint32_t)a->settings.native_stack_kib << 10;
}

static int bpf_start(fs_agent *a, const char **why)
{
	if (!a->rt_found) {
		*why = a->rt_why;
		return -ENOTSUP;
	}
	struct bpf_state *st = calloc(1, sizeof(*st));
	if (!st) {
		*why = "out of memory";
		return -ENOMEM;
	}
	st->rt = a->rt;
	threadnames__forget(); /* in a forked child: the parent's threads */
	int err = bpf_plan__make(&st->rt, &st->plan, why);
	if (err < 0) {
		free(st);
		return err;
	}
	st->plan.tgid = (uint32_t)a->pid;
	/* off-CPU time: idle threads, and every thread's state for the GIL view */
	bool off_cpu = a->settings.idle ||
		       ((a->settings.formats & FS_FORMAT_GIL) && a->settings.mode != FS_MODE_TOP);
	st->period_ns = 1000000000ULL / (unsigned)a->settings.rate_hz;
	bpf_records__start_clocks(st, a->pid);
	if (off_cpu && (!(st->off_cpu = offcpu__new(MAX_THREADS)) || gilview__start(a) < 0)) {
		offcpu__free(st->off_cpu);
		free(st);
		*why = "out of memory";
		return -ENOMEM;
	}
	if (a->settings.native)
		native_start(a, st);
	st->api = sibling__open(LIBRARY, FSBPF_INTERFACE_SYMBOL, &st->library, st->why,
				sizeof(st->why));
	if (st->api) {
		if (st->api->version != FSBPF_INTERFACE_VERSION)
			snprintf(st->why, sizeof(st->why), "%s is from another filspy build", LIBRARY);
		else
			st->session = st->api->open(&st->plan, a->settings.rate_hz, off_cpu,
						    st->why, sizeof(st->why));
	}
	st->stacks.cache = st->session ? symcache__new(&st->rt) : NULL;
	if (st->stacks.cache)
		symcache__full_paths(st->stacks.cache, a->settings.full_filenames);
	st->stacks.rt = &st->rt; /* no frame addresses in records: import names come from the module run */
	if (!st->stacks.cache) {
		/* the reason outlives this call: the chooser prints it after we return */
		static char reason[sizeof(st->why)];
		snprintf(reason, sizeof(reason), "%s", st->session ? "out of memory" : st->why);
		*why = reason;
		release(st);
		return -ENOTSUP;
	}
	a->backend_state = st;
	a->lost_dropped = a->lost_cut = 0;
	a->lost_known = true;
	a->gil_samples = a->active_samples = 0;
	a->gil_known = st->plan.gil_locked != 0;
	a->native_frames = st->native != NULL;
	bpf_threads__sync(a, st);
	a->python_threads = st->n_mapped;
	a->poll_fd = st->api->wait_fd(st->session);
	/* native frames: native_start said why when it could not have them */
	stacks__warn_limits("bpf", &a->settings, &st->rt, true, st->plan.gil_locked != 0,
			    gilview__on(), st->plan.gil_size != 0);
	return 0;
}

/* Whether the thread list must be read again: it changed (a thread state came, or
 * the newest left), it changed lately (a new thread's tid is written by the thread
 * itself once it runs), or RESYNC_NS passed (other departures). Otherwise idle
 * threads would cost a read or two each, every sync. */
static bool sync_due(struct bpf_state *st, uint64_t now)
{
	uintptr_t mark = pythreads__list_mark(&st->rt);
	if (!mark || mark != st->list_mark) {
		st->list_mark = mark;
		st->list_changed_at = now;
		st->synced_at = now;
		return true;
	}
	if (now - st->list_changed_at < SETTLE_NS || now - st->synced_at >= RESYNC_NS) {
		st->synced_at = now;
		return true;
	}
	return false;
}

/* Whether the thread that woke the sampler last still waits for its tid */
static bool nudge_pending(struct bpf_state *st, uint64_t now)
{
	if (!st->nudged_tid)
		return false;
	if (now - st->list_changed_at < SETTLE_NS && now - st->nudged_at < NUDGE_FOLLOW_NS &&
	    !bpf_threads__mapped(st, st->nudged_tid))
		return true;
	st->nudged_tid = 0;
	return false;
}

static long long bpf_poll(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	uint64_t start = now_ns();
	bpf_records__tick_clocks(st, start);
	/* records first: a thread that woke and ended since the last poll has its
	 * wake-up there, and the sync below forgets it */
	uint64_t named = st->stacks.named;
	st->api->drain(st->session, bpf_records__on_record, a);
	bool new_stacks = st->stacks.named != named;
	if ((st->nudged_tid || start >= st->next_sync) && sync_due(st, start)) {
		bpf_threads__sync(a, st);
		a->python_threads = st->n_mapped;
		/* reading the list costs a few reads per thread: with hundreds of threads
		 * it is read less often, for about 1/SYNC_SHARE of the sampler's time,
		 * but new threads are still seen within SYNC_MAX_NS */
		uint64_t wait = (now_ns() - start) * SYNC_SHARE;
		st->next_sync = start + (wait < SYNC_MAX_NS ? wait : SYNC_MAX_NS);
	}
	if (nudge_pending(st, start))
		return POLL_MIN_NS;
	if (new_stacks || start - st->list_changed_at < SETTLE_NS)
		return POLL_SETTLING_NS;
	/* not timed to the clocks' next restart: it comes with the poll nearest it
	 * (bpf_records__tick_clocks), and a wait cut short to meet it was a second
	 * (and often a third) wake-up in each 100 ms */
	return POLL_QUIET_NS;
}

static void bpf_stop(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	if (!st)
		return;
	a->poll_fd = -1;
	st->api->drain(st->session, bpf_records__on_record, a);
	bpf_records__end_stops(a, st, now_ns()); /* threads still off their CPU count until now */
	uint64_t n[FSBPF_STAT_COUNT];
	st->api->stats(st->session, n);
	a->lost_dropped = n[FSBPF_STAT_TORN] + n[FSBPF_STAT_LOST] + st->stacks.unnamed;
	fs_debug("bpf backend: %llu events in this process, %llu without Python, %llu torn, "
		 "%llu records (%llu lost to a full ring buffer, %llu cut by an unreadable frame), "
		 "%llu filtered out, %llu stale frames, %llu native samples dropped for a Python "
		 "frame without its name; off-CPU: %llu switches, %llu samples, "
		 "%llu stops without their return",
		 (unsigned long long)n[FSBPF_STAT_EVENTS], (unsigned long long)n[FSBPF_STAT_NO_TSTATE],
		 (unsigned long long)n[FSBPF_STAT_TORN], (unsigned long long)n[FSBPF_STAT_EMITTED],
		 (unsigned long long)n[FSBPF_STAT_LOST], (unsigned long long)n[FSBPF_STAT_UNREADABLE],
		 (unsigned long long)st->filtered,
		 (unsigned long long)st->stacks.stale, (unsigned long long)st->stacks.unnamed,
		 (unsigned long long)n[FSBPF_STAT_SWITCHES],
		 (unsigned long long)st->off_cpu_samples, (unsigned long long)st->unmatched);
	if (st->native) {
		uint64_t unwound, frames, mismatched;
		nativestack__counts(st->native, &unwound, &frames, &mismatched);
		fs_debug("bpf backend: native stacks: %llu unwound, %llu native frames, "
			 "%llu whose eval-loop frames and Python runs differ in number",
			 (unsigned long long)unwound, (unsigned long long)frames,
			 (unsigned long long)mismatched);
	}
	release(st);
	a->backend_state = NULL;
}

static void bpf_dump(fs_agent *a, FILE *f)
{
	struct bpf_state *st = a->backend_state;
	if (st)
		stacks__dump(a, &st->rt, &st->stacks, f);
}

/* In a forked child: the parent's events and maps must not live on here. */
static void bpf_after_fork(fs_agent *a)
{
	struct bpf_state *st = a->backend_state;
	if (st && st->session)
		st->api->drop_after_fork(st->session);
}

const fs_backend backend_bpf = {
	.name = "bpf",
	.start = bpf_start,
	.poll = bpf_poll,
	.stop = bpf_stop,
	.dump = bpf_dump,
	.after_fork = bpf_after_fork,
};
