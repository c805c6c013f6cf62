/* Child processes the agent starts (py-spy) from inside someone else's program,
 * and the ones `filspy doctor` runs to look at the host. */
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

/* How long spawn__can_trace_parent waits for its child's answer. */
#define SPAWN_TRACE_TIMEOUT_MS 2000

/* Tries what the pyspy backend needs: a child of ours, allowed with
 * PR_SET_PTRACER, attaches to us with PTRACE_SEIZE (which does not stop us). Returns
 * 0, or -errno of the refused attach (EPERM: Yama, seccomp, missing SYS_PTRACE), or
 * -ETIMEDOUT when the child did not answer within SPAWN_TRACE_TIMEOUT_MS. */
int spawn__can_trace_parent(void);

/* Waits at most timeout_ms for pid to exit. Returns 1 with *status set when it
 * exited, 0 when it still runs, -errno when it cannot be waited for (e.g. the
 * program reaped it with wait(-1)). */
int spawn__wait(pid_t pid, int timeout_ms, int *status);

/* Finds name on PATH (or takes it as a path when it has a '/'), as execvp does:
 * an empty entry is the current directory, an unset or empty PATH is
 * /usr/local/bin:/usr/bin:/bin, and only regular files count. Returns 0 and fills
 * out, or -ENOENT, or -EACCES when a candidate was refused (no execute permission,
 * or a folder on PATH that may not be searched). */
int spawn__which(const char *name, char *out, size_t size);

/* Runs argv[0] (a path: no PATH search) with argv, stdin and stderr on /dev/null,
 * stdout into out (its first size - 1 bytes, NUL-terminated; size > 0), without
 * FIL_PERF_SPY_ENABLED in its environment. The child has its own process group and
 * dies with the calling thread. When it exits, or after timeout_ms, the whole
 * group is killed (a wrapper script's children too) and the child reaped.
 * Returns 0 with its wait status in *status, -ETIMEDOUT when it was still running
 * at the timeout, or -errno when it could not be started or waited for. The
 * caller keeps argv and out. */
int spawn__capture(char *const argv[], char *out, size_t size, int timeout_ms, int *status);

/* The process group of the spawn__capture under way, 0 when none:
 * async-signal-safe, so a handler of a fatal signal can kill(-group, SIGKILL). */
pid_t spawn__capturing(void);

#endif
