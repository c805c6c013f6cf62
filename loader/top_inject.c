/* `filspy top PID` on any Python process: the agent is loaded in top mode (it
 * writes no files and keeps its socket for us), else py-spy top takes over. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/pyspy_path.h"
#include "cli.h"
#include "inject.h"
#include "live.h"
#include "top_inject.h"

static int hand_over(long pid, int delay_ms, const char *why)
{
	char path[PATH_MAX], looked[1024], pidtext[24], delay[24];
	if (pyspy_path__find(getenv("FIL_PERF_SPY_PYSPY"), path, sizeof(path), looked,
			     sizeof(looked)) < 0) {
		fs_error("top: could not load the agent into pid %ld (%s) and py-spy is not found "
			 "(looked %s)", pid, why, looked);
		return -1;
	}
	fs_info("could not load the agent into pid %ld (%s); handing over to py-spy top", pid, why);
	snprintf(pidtext, sizeof(pidtext), "%ld", pid);
	snprintf(delay, sizeof(delay), "%.3f", delay_ms / 1000.0);
	execl(path, path, "top", "--pid", pidtext, "--delay", delay, (char *)NULL);
	fs_error("top: cannot run %s: %s", path, strerror(errno));
	return -1;
}

int top_inject__agent(long pid, int delay_ms)
{
	char program[256], lib[PATH_MAX], why[300] = "";
	if (!cli__is_python(pid, program, sizeof(program))) {
		fs_error("top: pid %ld is not a Python process (it runs %s, with no libpython in it)",
			 pid, program);
		return -1;
	}
	int err = cli__find_library(lib, sizeof(lib));
	if (err)
		return hand_over(pid, delay_ms, "libfilspy.so not found");
	const char *rate = getenv("FIL_PERF_SPY_RATE");
	char text[256];
	snprintf(text, sizeof(text), "FIL_PERF_SPY_MODE=top\nFIL_PERF_SPY_QUIET=1\n%s%s%s",
		 rate ? "FIL_PERF_SPY_RATE=" : "", rate ? rate : "", rate ? "\n" : "");
	err = inject__agent((pid_t)pid, lib, text, why, sizeof(why));
	if (err)
		return hand_over(pid, delay_ms, why);
	/* the agent opens its socket once its backend runs */
	for (int i = 0; i < 100; i++) {
		if (live__answers(pid))
			return 1;
		struct timespec nap = { 0, 50000000 };
		nanosleep(&nap, NULL);
	}
	fs_error("top: the agent loaded into pid %ld opened no control socket", pid);
	return -1;
}
