/* State of the agent inside one profiled process, shared by its modules. */
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

/* The session's life, in one word the exit paths can wait on with a futex. */
enum fs_state {
	FS_STATE_OFF = 0,       /* not profiling in this process */
	FS_STATE_RUNNING,       /* the sampler thread runs */
	FS_STATE_FINISHING,     /* an exit path asked the sampler to write and stop */
	FS_STATE_DONE,          /* files written (or given up); nothing runs */
};

struct fs_agent;

/* How the sampler thread gets stacks. */
typedef struct fs_backend {
	const char *name;
	/* Prepares sampling once the interpreter is initialised. Returns 0, or -errno
	 * with *why set to a sentence for the user. */
	int (*start)(struct fs_agent *a, const char **why);
	/* Takes one sample of every thread into a->profile; NULL when the backend
	 * samples by itself (the sampler then only watches it). */
	void (*sample)(struct fs_agent *a);
	/* For a backend that samples by itself: collects what it sampled into
	 * a->profile, every POLL_INTERVAL_NS; NULL when it needs no help. */
	void (*poll)(struct fs_agent *a);
	/* NULL or false when the backend died on its way, with *why set. */
	bool (*alive)(struct fs_agent *a, const char **why);
	/* Ends sampling and leaves every sample in a->profile. */
	void (*stop)(struct fs_agent *a);
	/* Writes every thread's current stack, innermost frame first; NULL when the
	 * backend cannot. */
	void (*dump)(struct fs_agent *a, FILE *f);
} fs_backend;

extern const fs_backend backend_self;
extern const fs_backend backend_pyspy;
extern const fs_backend backend_bpf;

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
	struct timespec started;      /* CLOCK_MONOTONIC when sampling began */
	double sampled_s;             /* how long sampling ran */
	uint64_t ticks;               /* sampling rounds taken */
	uint64_t sampling_ns;         /* time spent in them */
	int control_fd;               /* listening control socket, -1 when none */
	bool stop_requested;          /* `stop` over the control socket */
	bool detach_requested;        /* `finish`: write, then end the session now */
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

/* Writes the requested formats (final) or the raw checkpoint (final == false).
 * Runs on the sampler thread. */
void outputs__write(fs_agent *a, bool final);
void outputs__remove_checkpoint(fs_agent *a);

/* Checks that the output directory exists or can be made and is writable.
 * Returns 0, or -errno after printing why. */
int outputs__prepare_dir(fs_agent *a);

/* The control socket (agent/control.c), served by the sampler thread. */
int control__open(fs_agent *a);
void control__serve(fs_agent *a);
void control__close(fs_agent *a, bool remove);

/* In a forked child: closes the descriptors of the parent's bpf session. */
void backend_bpf__after_fork(fs_agent *a);

/* The sampler thread's body. */
void *sampler__main(void *arg);

/* Exit paths: fatal-signal handlers, fork handlers. Called once from the constructor
 * of a profiled process. */
void exit_hooks__install(void);

/* Kernel thread state and names from /proc/self/task. */
bool procthreads__running(int tid);
bool procthreads__exists(int tid);  /* the task is still in /proc/self/task */
const char *procthreads__name(int tid);
void procthreads__forget(void);  /* closes cached files, after fork or at the end */

/* futex helpers on agent.state */
void futex__wake(volatile int *word);
void futex__wait(volatile int *word, int expected, long timeout_ns);

/* Where thread tid is blocked, from /proc/self/task/TID/syscall: 1 when it runs (or
 * may run), 0 when blocked, with *nr the system call (-1: blocked outside any) and
 * *arg1 its first argument, -1 when unknown (the thread is gone). */
int procthreads__syscall(int tid, long *nr, unsigned long *arg1);

#endif
