/* The entry point `filspy attach` calls after loading the agent into a running
 * process: settings come as text, never through the process's environment. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "futex.h"
#include "filspy/log.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_LINES 64

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

/* settings: "NAME=VALUE\n" lines, the same names as the environment. Returns 0 when
 * sampling started, -1 otherwise (already profiling, not a Python process, bad
 * directory). Called on one of the program's threads by the injector: it only
 * starts the sampler thread and returns. */
EXPORT int filspy_attach(const char *settings)
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
	snprintf(text, sizeof(text), "%s", settings);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < MAX_LINES;
	     l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	lines[n] = NULL;
	static char cmdline[4096];
	char *argv[64];
	int argc = read_cmdline(cmdline, sizeof(cmdline), argv, 64);
	return agent__begin(argc, argv, lines, true);
}
