/* The session inside one profiled process: its state, and its life (begin, start,
 * finish, after fork). Each module it uses has its own header. */
#ifndef FILSPY_AGENT_H
#define FILSPY_AGENT_H

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "filspy/profile.h"
#include "filspy/pyruntime.h"
#include "filspy/settings.h"
#include "backends/backend.h"

/* The session's life, in one word the exit paths can wait on with a futex. */
enum fs_state {
	FS_STATE_OFF = 0,       /* not profiling in this process */
	FS_STATE_RUNNING,       /* the sampler thread runs */
	FS_STATE_FINISHING,     /* an exit path asked the sampler to write and stop */
	FS_STATE_DONE,          /* files written (or given up); nothing runs */
};

typedef struct fs_agent {
	fs_settings settings;
	volatile int state;           /* enum fs_state, futex word */
	pid_t pid;
	char program[64];             /* what the default label and PROCESS match use */
	char title[512];              /* the command line, for the flamegraph title */
	char label[FS_LABEL_MAX + 16];
	char output_dir[4096];        /* absolute: the program may chdir */
	py_runtime rt;                /* the interpreter, found by the sampler thread */
	bool rt_found;
	const char *rt_why;           /* why not, when !rt_found */
	const fs_backend *backend;
	void *backend_state;
	fs_profile *profile;
	pthread_t thread;
	bool thread_started;
	bool python_seen;             /* the sampler saw the interpreter initialised */
	struct timespec started;      /* CLOCK_MONOTONIC when sampling began */
	double sampled_s;             /* how long sampling ran */
	uint64_t ticks;               /* sampling rounds taken */
	uint64_t sampling_ns;         /* time spent in them */
	/* samples the backend dropped (torn: the stack changed while it was read, or
	 * no room to pass it on) and samples it kept cut short (deeper than it reads,
	 * an unreadable frame), for the profile's metadata; lost_known false when
	 * the backend cannot tell (pyspy) */
	uint64_t lost_dropped, lost_cut;
	bool lost_known;
	/* for `filspy top`'s header (the control socket's info): samples whose thread
	 * held the GIL (gil_known: the backend can tell) or ran on a CPU, and the
	 * Python threads the backend knows of */
	uint64_t gil_samples, active_samples;
	bool gil_known;
	bool native_frames;           /* the backend records native frames (FIL_PERF_SPY_NATIVE) */
	int python_threads;
	int control_fd;               /* listening control socket, -1 when none */
	/* the backend's: readable when it has something to collect now (bpf: the
	 * ring buffer's forced wake-ups), -1 when it has none */
	int poll_fd;
	/* an eventfd the exit paths write to wake a sampler that sleeps in poll() on
	 * poll_fd; -1 when none yet, -2 when none could be made: made once by the
	 * sampler, kept until a fork (an exit path may write it at any moment, so
	 * it is never closed under them) */
	int wake_fd;
	bool stop_requested;          /* `stop` over the control socket */
	bool detach_requested;        /* `finish`: write, then end the session now */
	bool dump_locals;             /* `dump-locals`: the dump shows each frame's locals */
	bool attached;                /* loaded by `filspy attach`, not preloaded */
} fs_agent;

extern fs_agent agent;

/* Decides whether to profile with settings_env ("NAME=VALUE" strings) and starts
 * the session: from the constructor, or from filspy_attach (attached: enabled
 * whatever the settings say, no activation marking). Returns 0 when sampling. */
int agent__begin(int argc, char **argv, char **settings_env, bool attached);

/* Starts the sampler thread for the settings in agent.settings (constructor and
 * fork child). Never blocks. */
void agent__start(void);

/* Asks the sampler to write the files and stop, and waits for it at most
 * timeout_ms. Safe to call from any exit path and from a signal handler. */
void agent__finish(int timeout_ms);

/* In a forked child (the sampler did not come along): with FIL_PERF_SPY_SUBPROCESSES
 * the child starts its own session into <label>-<pid> files, else stays quiet. */
void agent__after_fork_child(void);

#endif
