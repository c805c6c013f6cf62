/* The preloaded agent's entry: decides in the constructor whether this process
 * profiles itself, and starts one sampling thread without waiting for anything. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "filspy/log.h"
#include "filspy/pyruntime.h"
#include "filspy/memread.h"
#include "control.h"
#include "exit_hooks.h"
#include "futex.h"
#include "outputs.h"
#include "sampler.h"
#include "sampling/procthreads.h"

/* Marks the processes of one activation: the first profiled process sets it to its
 * pid; a process that finds another pid there is a descendant (files under
 * <label>-<pid>, warnings and errors only on stderr). The one variable the agent
 * adds to the program's environment; docs/performance/py-spy.md says so. */
#define ACTIVATION_VAR "FILSPY_ACTIVATION"
#define SAMPLER_STACK (1 << 20)

fs_agent agent = { .poll_fd = -1, .wake_fd = -1 };


static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* The program a user means: the script or module python runs, else the interpreter. */
static void find_program(int argc, char **argv, char *out, size_t size)
{
	const char *name = argc > 0 && argv && argv[0] ? base_name(argv[0]) : "python";
	for (int i = 1; argv && i < argc && argv[i]; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-m") && i + 1 < argc) {
			name = argv[i + 1];
			break;
		}
		if (!strcmp(a, "-c"))
			break;
		if (!strcmp(a, "-W") || !strcmp(a, "-X")) {
			i++;
			continue;
		}
		if (!strcmp(a, "--")) {
			if (i + 1 < argc)
				name = base_name(argv[i + 1]);
			break;
		}
		if (a[0] != '-') {
			name = base_name(a);
			break;
		}
	}
	snprintf(out, size, "%s", *name ? name : "python");
	char *dot = strrchr(out, '.');
	if (dot && !strcmp(dot, ".py"))
		*dot = 0;
	settings__sanitize_label(out);
}

static void make_title(int argc, char **argv, char *out, size_t size)
{
	size_t at = 0;
	out[0] = 0;
	for (int i = 0; argv && i < argc && argv[i] && at + 1 < size; i++)
		at += (size_t)snprintf(out + at, size - at, "%s%s", i ? " " : "", argv[i]);
}

static void choose_label(bool descendant)
{
	const fs_settings *s = &agent.settings;
	if (!s->label[0])
		snprintf(agent.label, sizeof(agent.label), "%s-%d", agent.program, agent.pid);
	else if (descendant)
		snprintf(agent.label, sizeof(agent.label), "%s-%d", s->label, agent.pid);
	else
		snprintf(agent.label, sizeof(agent.label), "%s", s->label);
}

/* True when this process is a descendant of the activation's first process;
 * marks this process as the first one otherwise. */
static bool mark_activation(void)
{
	const char *root = getenv(ACTIVATION_VAR);
	if (root && atol(root) != agent.pid)
		return true;
	char pid[24];
	snprintf(pid, sizeof(pid), "%d", agent.pid);
	setenv(ACTIVATION_VAR, pid, 1);
	return false;
}

/* Makes the output directory absolute now: the program may chdir later. */
static int set_output_dir(void)
{
	const char *dir = agent.settings.output_dir;
	char cwd[2048];
	int n;
	if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		n = snprintf(agent.output_dir, sizeof(agent.output_dir), "%s", dir);
	else
		n = snprintf(agent.output_dir, sizeof(agent.output_dir), "%s/%s", cwd, dir);
	if (n < 0 || (size_t)n >= sizeof(agent.output_dir) - FS_LABEL_MAX - 64) {
		fs_error("FIL_PERF_OUTPUT_DIR is too long; not profiling");
		return -1;
	}
	return 0;
}

void agent__start(void)
{
	agent.profile = profile__new(0);
	/* speedscope's time order: only when asked for, it is the one thing that grows
	 * with the run's length (bounded, see filspy/timeline.h) */
	if (agent.profile && (agent.settings.formats & FS_FORMAT_SPEEDSCOPE) &&
	    profile__keep_timeline(agent.profile, 0) < 0) {
		profile__free(agent.profile);
		agent.profile = NULL;
	}
	if (!agent.profile) {
		fs_error("out of memory; not profiling");
		return;
	}
	agent.backend = NULL;
	agent.control_fd = -1;
	agent.poll_fd = -1;
	agent.stop_requested = false;
	agent.python_seen = false;
	agent.detach_requested = false;
	agent.ticks = 0;
	agent.sampled_s = 0;
	__atomic_store_n(&agent.state, FS_STATE_RUNNING, __ATOMIC_SEQ_CST);

	/* the sampler must never take the program's signals */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SAMPLER_STACK);
	/* nobody joins it: exit paths wait on agent.state; its stack goes when it ends */
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int err = pthread_create(&agent.thread, &attr, sampler__main, &agent);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fs_error("cannot start the sampling thread: %s; not profiling", strerror(err));
		__atomic_store_n(&agent.state, FS_STATE_OFF, __ATOMIC_SEQ_CST);
		return;
	}
	agent.thread_started = true;
}

void agent__finish(int timeout_ms)
{
	int s = __atomic_load_n(&agent.state, __ATOMIC_SEQ_CST);
	if (s == FS_STATE_OFF || s == FS_STATE_DONE || !agent.thread_started)
		return;
	if (pthread_equal(pthread_self(), agent.thread))
		return;
	int expected = FS_STATE_RUNNING;
	__atomic_compare_exchange_n(&agent.state, &expected, FS_STATE_FINISHING, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	futex__wake(&agent.state);
	int wake_fd = __atomic_load_n(&agent.wake_fd, __ATOMIC_SEQ_CST);
	if (wake_fd >= 0) /* a sampler asleep in poll(): async-signal-safe too */
		eventfd_write(wake_fd, 1);
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		s = __atomic_load_n(&agent.state, __ATOMIC_SEQ_CST);
		if (s != FS_STATE_FINISHING)
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)timeout_ms * 1000000L - ((now.tv_sec - t0.tv_sec) * 1000000000L +
							    (now.tv_nsec - t0.tv_nsec));
		if (left <= 0) {
			fs_warn("the profile was not written within %d ms; giving up so the program "
				"can exit", timeout_ms);
			return;
		}
		futex__wait(&agent.state, FS_STATE_FINISHING, left);
	}
}

void agent__after_fork_child(void)
{
	if (agent.wake_fd >= 0) { /* the parent's sampler waits on it: one thread here */
		close(agent.wake_fd);
		agent.wake_fd = -1;
	}
	if (__atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) == FS_STATE_OFF)
		return;
	/* the sampler did not come along: forget it without touching its locks */
	agent.state = FS_STATE_OFF;
	agent.thread_started = false;
	memread__init();
	procthreads__forget();
	control__close(&agent, false); /* the socket and its path are the parent's */
	if (agent.backend && agent.backend->after_fork)
		agent.backend->after_fork(&agent);
	agent.backend_state = NULL; /* the parent's: never freed here */
	agent.poll_fd = -1;
	if (!agent.settings.subprocesses)
		return;
	agent.pid = getpid();
	log__configure(true, agent.settings.debug); /* a descendant: see ACTIVATION_VAR */
	choose_label(true);
	agent__start();
}

/* For the exit hooks. A vfork child (posix_spawn, subprocess) shares our memory
 * until it execs or exits: what it does must never touch the parent's session. */
static bool in_profiled_process(void)
{
	return agent.pid && getpid() == agent.pid;
}

static bool sampling(void)
{
	return __atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) == FS_STATE_RUNNING;
}

/* A FIL_PERF_ variable is needed for anything to happen: look for one before doing
 * any real work, since this runs in every process of an activated container. */
static bool any_setting(char **envp)
{
	for (char **e = envp; e && *e; e++)
		if (!strncasecmp(*e, "FIL_PERF_", 9))
			return true;
	return false;
}

int agent__begin(int argc, char **argv, char **settings_env, bool attached)
{
	settings__parse(&agent.settings, settings_env);
	fs_settings *s = &agent.settings;
	if (attached)
		s->enabled = true;
	log__configure(s->quiet, s->debug);
	/* a disabled profiler keeps quiet, unless the switch itself was misspelt */
	for (int i = 0; i < s->n_messages; i++)
		if (s->enabled || strstr(s->messages[i], "ENABLE"))
			fs_warn("%s", s->messages[i]);
	if (!s->enabled)
		return -1;
	find_program(argc, argv, agent.program, sizeof(agent.program));
	const char *exe = argc > 0 && argv && argv[0] ? base_name(argv[0]) : "";
	if (!attached && !settings__matches_globs(s->process, agent.program) &&
	    !settings__matches_globs(s->process, exe))
		return -1;
	agent.pid = getpid();
	agent.attached = attached;
	make_title(argc, argv, agent.title, sizeof(agent.title));
	bool descendant = !attached && mark_activation();
	/* a parent that captures its child's stderr sees only what went wrong */
	if (descendant)
		log__configure(true, s->debug);
	choose_label(descendant);
	/* top mode writes no files: it keeps the control socket for `filspy top` */
	if (set_output_dir() < 0 ||
	    (s->mode != FS_MODE_TOP && outputs__prepare_dir(&agent) < 0))
		return -1;
	static const exit_hooks_calls calls = {
		.in_profiled_process = in_profiled_process,
		.sampling = sampling,
		.finish = agent__finish,
		.after_fork_child = agent__after_fork_child,
	};
	exit_hooks__install(&calls);
	agent__start();
	return __atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) == FS_STATE_RUNNING ? 0 : -1;
}

__attribute__((constructor)) static void filspy_init(int argc, char **argv, char **envp)
{
	/* sh, dot, gcc...: nothing parsed, started or printed. Loaded into a running
	 * interpreter (dlopen: attach, the wheel's .pth), the loader calls an entry of
	 * attach_entry.c instead, with the settings it means. */
	if (getauxval(AT_SECURE) || !any_setting(envp) || !pyruntime__present() ||
	    pyruntime__running())
		return;
	agent__begin(argc, argv, envp, false);
}
