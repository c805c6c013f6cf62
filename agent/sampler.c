/* The sampling thread: waits for the interpreter, samples at the asked rate with
 * jitter, keeps a checkpoint, and writes the files when an exit path asks. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <time.h>

#include "agent.h"
#include "filspy/clock.h"
#include "filspy/log.h"
#include "control.h"
#include "futex.h"
#include "outputs.h"
#include "pacing.h"
#include "sampler.h"
#include "sampling/procthreads.h"

#define CHECKPOINT_EVERY_NS 2000000000LL
#define CONTROL_EVERY_NS 20000000LL
#define INIT_POLL_NS 1000000L
#define RATE_CHECK_AFTER_NS 2000000000LL


static bool running(const fs_agent *a)
{
	return __atomic_load_n(&a->state, __ATOMIC_SEQ_CST) == FS_STATE_RUNNING;
}

/* Sleeps until deadline or until an exit path changes the state. */
static void sleep_until(fs_agent *a, int64_t deadline)
{
	int64_t left = deadline - clock__now_ns();
	if (left > 0 && running(a))
		futex__wait(&a->state, FS_STATE_RUNNING, (long)left);
}

/* The same for a backend with a poll_fd: poll() until deadline, or until the
 * backend, the control socket or an exit path (through wake_fd) wants us.
 * Returns whether a request waits on the control socket. */
static bool poll_until(fs_agent *a, int64_t deadline)
{
	int64_t left = deadline - clock__now_ns();
	if (left <= 0 || !running(a))
		return false;
	struct pollfd p[3] = { { a->poll_fd, POLLIN, 0 }, { a->wake_fd, POLLIN, 0 },
			       { a->control_fd, POLLIN, 0 } };
	struct timespec t = { left / 1000000000, left % 1000000000 };
	if (ppoll(p, a->control_fd >= 0 ? 3 : 2, &t, NULL) <= 0)
		return false;
	eventfd_t n;
	if (p[1].revents)
		eventfd_read(a->wake_fd, &n);
	return p[2].revents != 0;
}

static void finish(fs_agent *a)
{
	__atomic_store_n(&a->state, FS_STATE_DONE, __ATOMIC_SEQ_CST);
	futex__wake(&a->state);
}

#define WATCH_INTERVAL_NS 100000000LL /* backends that sample by themselves */
/* ... and those of them that need collecting, at most, when they cannot call
 * sooner (no poll_fd, or an attach session: it makes no wake_fd, which would
 * outlive it) */
#define POLL_INTERVAL_NS 20000000LL

/* Whether the sampler sleeps in poll_until: the backend has a poll_fd, and exit
 * paths can reach it there (a->wake_fd, made here the first time) */
static bool sleeps_in_poll(fs_agent *a)
{
	if (a->poll_fd < 0 || a->attached)
		return false;
	if (a->wake_fd == -1) { /* -2: tried, none to be had (out of descriptors) */
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		__atomic_store_n(&a->wake_fd, fd >= 0 ? fd : -2, __ATOMIC_SEQ_CST);
	}
	return a->wake_fd >= 0;
}

static void sample_loop(fs_agent *a)
{
	const fs_settings *s = &a->settings;
	const int64_t interval = a->backend->sample ? 1000000000LL / s->rate_hz
				 : a->backend->poll ? POLL_INTERVAL_NS : WATCH_INTERVAL_NS;
	const int64_t start = (int64_t)a->started.tv_sec * 1000000000LL + a->started.tv_nsec;
	const int64_t stop_at = s->duration_s > 0 ? start + (int64_t)(s->duration_s * 1e9) : INT64_MAX;
	int64_t last_checkpoint = start;
	uint64_t checkpointed = 0;
	fs_pacing pacing;
	pacing__start(&pacing, start, interval, (uint64_t)start ^ ((uint64_t)a->pid << 32));
	bool warned = false;
	const char *why;

	int64_t served = clock__now_ns() - CONTROL_EVERY_NS;
	const bool in_poll = a->backend->poll && sleeps_in_poll(a);
	bool asked = false;
	while (running(a)) {
		int64_t t = clock__now_ns();
		/* an accept() that finds nobody is a system call: every round at 1 kHz it
		 * was a sixth of the sampler's time; a request waits 20 ms at most (or
		 * none, when poll_until watches the socket) */
		if (in_poll ? asked : t - served >= CONTROL_EVERY_NS) {
			control__serve(a);
			served = t;
		}
		if (t >= stop_at) {
			fs_info("FIL_PERF_SPY_DURATION reached: sampling stopped after %.1f s",
				s->duration_s);
			break;
		}
		if (a->stop_requested) {
			fs_info("sampling stopped by `stop` on the control socket");
			break;
		}
		if (a->backend->alive && !a->backend->alive(a, &why)) {
			fs_warn("%s; going on with the self backend", why);
			a->backend->stop(a);
			const fs_backend *self = registry__backend(FS_BACKEND_SELF);
			if (self->start(a, &why) < 0) {
				fs_error("the self backend cannot start either: %s", why);
				break;
			}
			a->backend = self;
			sample_loop(a);
			return;
		}
		int64_t wait = interval;
		if (a->backend->sample || a->backend->poll) {
			if (a->backend->sample)
				a->backend->sample(a);
			else
				wait = a->backend->poll(a);
			a->ticks++;
			a->sampling_ns += (uint64_t)(clock__now_ns() - t);
		}
		t = clock__now_ns();
		a->sampled_s = (double)(t - start) / 1e9;

		if (t - last_checkpoint >= CHECKPOINT_EVERY_NS &&
		    profile__samples(a->profile) != checkpointed) {
			outputs__write(a, false);
			checkpointed = profile__samples(a->profile);
			last_checkpoint = clock__now_ns();
		}
		if (!warned && a->backend->sample && t - start >= RATE_CHECK_AFTER_NS &&
		    (double)a->ticks < 0.9 * s->rate_hz * ((double)(t - start) / 1e9)) {
			fs_warn("sampling falls behind: asked for %d Hz, getting %.0f Hz",
				s->rate_hz, (double)a->ticks / ((double)(t - start) / 1e9));
			warned = true;
		}
		if (a->backend->sample || !a->backend->poll) {
			sleep_until(a, pacing__next(&pacing, t));
			continue;
		}
		if (!in_poll && wait > POLL_INTERVAL_NS)
			wait = POLL_INTERVAL_NS;
		int64_t deadline = pacing__around(&pacing, t, wait);
		if (in_poll)
			asked = poll_until(a, deadline);
		else
			sleep_until(a, deadline);
	}
}

/* Finds the interpreter and waits until it is initialised. Returns false when the
 * program ended first (it then ran no Python worth a profile). An initialised
 * interpreter is seen before the end: a forked child that leaves by os._exit at
 * once (the interpreter stays initialised) still owes its profile. */
static bool wait_for_python(fs_agent *a)
{
	a->rt_found = pyruntime__find(&a->rt, &a->rt_why) == 0;
	for (int64_t waited = 0;; waited += INIT_POLL_NS) {
		if (a->rt_found && pyruntime__initialized(&a->rt))
			return true;
		if (!running(a))
			return false;
		if (!a->rt_found && waited >= 200 * INIT_POLL_NS)
			return true;
		futex__wait(&a->state, FS_STATE_RUNNING, INIT_POLL_NS);
	}
}

/* Starts the forced backend, or the first of bpf, pyspy, self that works, and says
 * on stderr which one and why the others were passed over. */
static bool choose_backend(fs_agent *a)
{
	enum fs_backend_choice forced = a->settings.backend;
	char passed[1024] = "";
	size_t at = 0;
	const char *why = NULL;

	for (const fs_backend_info *b = backends__order; b->name; b++) {
		if (forced != FS_BACKEND_AUTO && forced != b->choice)
			continue;
		a->backend = registry__backend(b->choice);
		int err = a->backend->start(a, &why);
		if (err == 0) {
			if (forced == FS_BACKEND_AUTO && at)
				fs_info("using the %s backend (passed over: %s)", a->backend->name, passed);
			return true;
		}
		if (forced != FS_BACKEND_AUTO) {
			fs_error("backend %s (FIL_PERF_SPY_BACKEND) cannot start: %s; no profile "
				 "will be written", backends__name(forced), why);
			return false;
		}
		at += (size_t)snprintf(passed + at, at < sizeof(passed) ? sizeof(passed) - at : 0,
				       "%s%s: %s", at ? "; " : "", b->name, why);
		if (at >= sizeof(passed))
			at = sizeof(passed) - 1;
	}
	fs_error("no backend can profile this process (%s); no profile will be written", passed);
	return false;
}

void *sampler__main(void *arg)
{
	fs_agent *a = arg;

	if (!wait_for_python(a)) {
		a->backend = NULL;
		finish(a);
		return NULL;
	}
	__atomic_store_n(&a->python_seen, true, __ATOMIC_SEQ_CST);
	/* before the backend starts: py-spy samples from its spawn on, while the agent
	 * still watches it for an early death (EARLY_DEATH_MS) */
	clock_gettime(CLOCK_MONOTONIC, &a->started);
	if (!choose_backend(a)) {
		a->backend = NULL;
		finish(a);
		return NULL;
	}
	const char *native = a->native_frames ? " and native frames" : "";
	if (a->settings.mode == FS_MODE_TOP) /* outputs__write writes nothing then */
		fs_info("profiling %s (pid %d) with the %s backend%s at %d Hz for `filspy top %d` "
			"(FIL_PERF_SPY_MODE=top: no files written)", a->program, a->pid,
			a->backend->name, native, a->settings.rate_hz, a->pid);
	else if (a->settings.file[0]) /* -o FILE (descendants: their own names) */
		fs_info("profiling %s (pid %d) with the %s backend%s at %d Hz into %s",
			a->program, a->pid, a->backend->name, native, a->settings.rate_hz,
			a->settings.file);
	else
		fs_info("profiling %s (pid %d) with the %s backend%s at %d Hz into %s/%s-pyspy.*",
			a->program, a->pid, a->backend->name, native, a->settings.rate_hz,
			a->output_dir, a->label);
	control__open(a);
	sample_loop(a);
	if (a->ticks)
		fs_debug("%llu sampling rounds, %.1f us each on average",
			 (unsigned long long)a->ticks, (double)a->sampling_ns / 1e3 / (double)a->ticks);
	a->backend->stop(a);
	/* sampling ended early (duration, stop): answer the control socket until exit */
	while (running(a) && !a->detach_requested) {
		control__serve(a);
		sleep_until(a, clock__now_ns() + 100000000LL);
	}
	outputs__write(a, true);
	control__close(a, true); /* after the files: `filspy attach` waits for it to go */
	if (a->detach_requested) { /* attached: leave the process as we found it */
		profile__free(a->profile);
		a->profile = NULL;
		fs_info("attach session finished; the sampling thread ends");
	}
	outputs__remove_checkpoint(a);
	procthreads__forget();
	if (a->detach_requested) {
		/* OFF, not DONE: the next `filspy attach` starts a new session here */
		__atomic_store_n(&a->state, FS_STATE_OFF, __ATOMIC_SEQ_CST);
		futex__wake(&a->state);
		return NULL;
	}
	finish(a);
	return NULL;
}
