/* The entry points for an agent loaded into a running interpreter: `filspy attach`
 * (injected) and the wheel's .pth (the interpreter itself, as it starts). Settings
 * come as text, never through the process's environment. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "futex.h"
#include "filspy/log.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_LINES 64
#define FINISH_TIMEOUT_MS 3000 /* as the exit hooks */
#define WAIT_FOR_SAMPLER_POLLS 1000 /* of 0.1 ms: 100 ms at most */

/* The command line from /proc: argv is gone by the time we are loaded. */
static int read_cmdline(char *buf, size_t size, char **argv, int max)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, size - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	int argc = 0;
	for (char *p = buf; p < buf + n && argc < max; p += strlen(p) + 1)
		argv[argc++] = p;
	return argc;
}

static int begin(const char *settings, bool attached)
{
	/* the last attach's session may be in its last steps: its socket is gone, its
	 * state not yet OFF (agent/sampler.c) */
	for (int i = 0; i < 20 && agent.detach_requested &&
			__atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) == FS_STATE_RUNNING; i++)
		futex__wait(&agent.state, FS_STATE_RUNNING, 50000000L);
	if (__atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) != FS_STATE_OFF ||
	    !pyruntime__present())
		return -1;
	static char text[8192];
	char *lines[MAX_LINES + 1];
	int n = 0;
	snprintf(text, sizeof(text), "%s", settings ? settings : "");
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < MAX_LINES;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	lines[n] = NULL;
	static char cmdline[4096];
	char *argv[64];
	int argc = read_cmdline(cmdline, sizeof(cmdline), argv, 64);
	return agent__begin(argc, argv, lines, attached);
}

/* settings: "NAME=VALUE\n" lines, the same names as the environment. Returns 0 when
 * sampling started, -1 otherwise (already profiling, not a Python process, bad
 * directory). Called on one of the program's threads by the injector: it only
 * starts the sampler thread and returns. */
EXPORT int filspy_attach(const char *settings)
{
	return begin(settings, true);
}

/* For a Python process that loads the agent into itself as it starts (the wheel's
 * .pth, filspy/_activate.py), on its main thread: the same settings text, read by
 * the preload's rules instead of attach's. FIL_PERF_SPY_ENABLED must be true,
 * FIL_PERF_SPY_PROCESS applies, and the process marks its activation in
 * FILSPY_ACTIVATION (setenv: no other thread runs yet), so that a child profiled
 * the same way is labelled LABEL-PID as under LD_PRELOAD. Returns as filspy_attach:
 * -1 also when this copy of the agent, or the environment, says not to profile. */
EXPORT int filspy_start(const char *settings)
{
	int r = begin(settings, false);
	/* Until the sampler has seen the interpreter, an early exit (python -c pass:
	 * a few ms after us, Py_Finalize clears the runtime's initialized flag) makes
	 * it think the program ran no Python, and no profile is written; preloaded, it
	 * had all of Py_Initialize to get there. A thread's start: well under 1 ms. */
	struct timespec pause = { 0, 100000 };
	for (int i = 0; r == 0 && i < WAIT_FOR_SAMPLER_POLLS; i++) {
		if (__atomic_load_n(&agent.python_seen, __ATOMIC_SEQ_CST) ||
		    __atomic_load_n(&agent.state, __ATOMIC_SEQ_CST) != FS_STATE_RUNNING)
			break;
		nanosleep(&pause, NULL);
	}
	return r;
}

/* For the wheel's .pth, from Python's own atexit: an uncaught KeyboardInterrupt
 * ends CPython by kill(SIGINT) after Py_Finalize and after setting SIGINT to its
 * default itself, before any C atexit; preloaded, the agent interposes that
 * sigaction, dlopened it cannot. Writes the profile now (later exit routes find it
 * written); does nothing in a process that is not the profiled one. */
EXPORT void filspy_finish(void)
{
	if (agent.pid == getpid())
		agent__finish(FINISH_TIMEOUT_MS);
}
