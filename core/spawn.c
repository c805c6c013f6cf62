/* Starting and waiting for helper processes without disturbing the host program. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filspy/clock.h"
#include "filspy/spawn.h"

extern char **environ;

/* In a raw clone's child: its own process group (a terminal's Ctrl-C is for the
 * program), death with the thread that started it, stdin on /dev/null, and none
 * of the caller's blocked signals. */
static void become_helper(int out_fd, int err_fd)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(err_fd, STDERR_FILENO);
	/* the sampler blocks every signal; py-spy must see SIGINT */
	sigset_t none;
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(long));
}

/* Runs in the child of a raw clone: only system calls, nothing of libc's state. */
static __attribute__((noreturn)) void child(const char *path, char *const argv[], int log_fd,
					     int gate_fd)
{
	char byte;
	if (gate_fd >= 0 && read(gate_fd, &byte, 1) != 1)
		syscall(SYS_exit_group, 126);
	become_helper(log_fd, log_fd);
	execve(path, argv, environ);
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

/* fork(), but a plain fork would run the program's atfork handlers (and ours) */
static long raw_fork(void)
{
	return syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
}

pid_t spawn__start(const char *path, char *const argv[], int log_fd, int gate_fd)
{
	long pid = raw_fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(path, argv, log_fd, gate_fd);
	return (pid_t)pid;
}

int spawn__can_trace_parent(void)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid();
	long pid = raw_fork();
	if (pid == 0) {
		char byte;
		if (read(gate[0], &byte, 1) != 1)
			syscall(SYS_exit_group, 126);
		/* SEIZE does not stop us; the kernel detaches when this child exits */
		long r = syscall(SYS_ptrace, PTRACE_SEIZE, parent, 0, 0);
		syscall(SYS_exit_group, r == 0 ? 0 : errno);
	}
	close(gate[0]);
	if (pid < 0) {
		close(gate[1]);
		return -errno;
	}
	prctl(PR_SET_PTRACER, pid, 0, 0, 0);
	ssize_t w = write(gate[1], "g", 1);
	close(gate[1]);
	int status = 0;
	int r = spawn__wait((pid_t)pid, SPAWN_TRACE_TIMEOUT_MS, &status);
	prctl(PR_SET_PTRACER, 0, 0, 0, 0);
	if (r <= 0) {
		kill((pid_t)pid, SIGKILL);
		spawn__wait((pid_t)pid, 1000, &status);
		return -ETIMEDOUT;
	}
	if (w != 1)
		return -EPIPE;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -ECHILD;
}

static int64_t deadline_in(int timeout_ms)
{
	return clock__now_ns() + (int64_t)timeout_ms * 1000000;
}

static int ms_left(int64_t deadline)
{
	int64_t left = (deadline - clock__now_ns() + 999999) / 1000000;
	return left > 0 ? (int)left : 0;
}

/* Waits until deadline for pid to exit and leaves it unreaped: until then its
 * pid, and the id of the process group it leads, cannot be reused. 1 when it
 * exited, 0 when it still runs, -errno when it cannot be waited for. */
static int wait_exit(pid_t pid, int64_t deadline)
{
	struct timespec nap = { 0, 5000000 };
	for (;;) {
		siginfo_t info;
		memset(&info, 0, sizeof(info));
		int r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
		if (r == 0 && info.si_pid == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (clock__now_ns() >= deadline)
			return 0;
		nanosleep(&nap, NULL);
	}
}

static int reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

int spawn__wait(pid_t pid, int timeout_ms, int *status)
{
	int r = wait_exit(pid, deadline_in(timeout_ms));
	if (r <= 0)
		return r;
	r = reap(pid, status);
	return r < 0 ? r : 1;
}

int spawn__which(const char *name, char *out, size_t size)
{
	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int err = -ENOENT;
	for (const char *entry = path;; entry++) {
		size_t n = strcspn(entry, ":");
		/* an empty entry (leading, trailing or "::") is the current directory */
		snprintf(out, size, "%.*s/%s", (int)(n ? n : 1), n ? entry : ".", name);
		struct stat st;
		if (stat(out, &st) < 0) {
			if (errno == EACCES) /* a folder on PATH that we may not search */
				err = -EACCES;
		} else if (S_ISREG(st.st_mode)) { /* a directory named like it is not it */
			if (access(out, X_OK) == 0)
				return 0;
			err = -EACCES;
		}
		entry += n;
		if (!*entry)
			return err;
	}
}

/* The process group of the spawn__capture under way, for spawn__capturing. */
static volatile sig_atomic_t capture_group;

pid_t spawn__capturing(void)
{
	return (pid_t)capture_group;
}

/* Takes name=... out of env, in the child's own copy of the array. */
static void drop_env(char **env, const char *name)
{
	size_t n = strlen(name), to = 0;
	for (size_t from = 0; env && env[from]; from++)
		if (strncmp(env[from], name, n) || env[from][n] != '=')
			env[to++] = env[from];
	if (env)
		env[to] = NULL;
}

/* Runs in the child of a raw clone, as child() does; stderr goes to /dev/null. */
static __attribute__((noreturn)) void capture_child(char *const argv[], pid_t parent, int out_fd)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null < 0)
		syscall(SYS_exit_group, 126);
	become_helper(out_fd, null);
	/* the parent died before the death signal was armed */
	if (getppid() != parent)
		syscall(SYS_exit_group, 127);
	/* a preloaded agent must not profile what is run to look at the host */
	drop_env(environ, "FIL_PERF_SPY_ENABLED");
	/* the caller may ignore SIGPIPE; what it runs must not inherit that */
	signal(SIGPIPE, SIG_DFL);
	execve(argv[0], argv, environ);
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

/* Whether fd has something to read (or its end) before deadline. */
static bool readable(int fd, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, ms_left(deadline));
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/* Reads fd until its end or the deadline; keeps the first size - 1 bytes. */
static void read_until(int fd, char *out, size_t size, int64_t deadline)
{
	size_t got = 0;
	char sink[256];
	while (readable(fd, deadline)) {
		bool room = got + 1 < size;
		ssize_t n = room ? read(fd, out + got, size - 1 - got) : read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (room)
			got += (size_t)n;
	}
	out[got] = 0;
}

int spawn__capture(char *const argv[], char *out, size_t size, int timeout_ms, int *status)
{
	int p[2];
	out[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t parent = getpid();
	long pid = raw_fork();
	if (pid == 0)
		capture_child(argv, parent, p[1]);
	int err = pid < 0 ? -errno : 0;
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return err;
	}
	setpgid((pid_t)pid, (pid_t)pid); /* as the child does: whichever runs first */
	capture_group = (sig_atomic_t)pid;
	int64_t deadline = deadline_in(timeout_ms);
	read_until(p[0], out, size, deadline);
	close(p[0]);
	int exited = wait_exit((pid_t)pid, deadline);
	if (exited >= 0) {
		/* also what it left running, such as a wrapper script's own children */
		kill(-(pid_t)pid, SIGKILL);
		err = reap((pid_t)pid, status);
	}
	capture_group = 0;
	if (exited < 0 || err < 0)
		return exited < 0 ? exited : err;
	return exited ? 0 : -ETIMEDOUT;
}
