/* Child processes the agent starts (py-spy) from inside someone else's program. */
#ifndef FILSPY_SPAWN_H
#define FILSPY_SPAWN_H

#include <sys/types.h>

/* Starts path with argv, stdout and stderr going to log_fd. The child is made
 * with a raw clone, so the program's fork handlers do not run, sits in its own
 * process group (a terminal's Ctrl-C is for the program) and dies with the thread
 * that started it. When gate_fd >= 0 the child waits for one byte on it before
 * exec: the caller can prepare (e.g. allow ptrace) knowing the pid.
 * Returns the pid, or -errno. */
pid_t spawn__start(const char *path, char *const argv[], int log_fd, int gate_fd);

/* Tries what the pyspy backend needs: a child of ours, allowed with
 * PR_SET_PTRACER, attaches to us with PTRACE_SEIZE (which does not stop us). Returns
 * 0, or -errno of the refused attach (EPERM: Yama, seccomp, missing SYS_PTRACE). */
int spawn__can_trace_parent(void);

/* Waits at most timeout_ms for pid to exit. Returns 1 with *status set when it
 * exited, 0 when it still runs, -errno when it cannot be waited for (e.g. the
 * program reaped it with wait(-1)). */
int spawn__wait(pid_t pid, int timeout_ms, int *status);

/* Finds name on PATH (or takes it as a path when it has a '/'). Returns 0 and
 * fills out, or -ENOENT / -EACCES. */
int spawn__which(const char *name, char *out, size_t size);

#endif
