/* Starting and waiting for helper processes without disturbing the host program. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filspy/spawn.h"

extern char **environ;

/* Runs in the child of a raw clone: only system calls, nothing of libc's state. */
static __attribute__((noreturn)) void child(const char *path, char *const argv[], int log_fd,
					     int gate_fd)
{
	char byte;
	if (gate_fd >= 0 && read(gate_fd, &byte, 1) != 1)
		syscall(SYS_exit_group, 126);
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_RDONLY);
	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(log_fd, STDOUT_FILENO);
	dup2(log_fd, STDERR_FILENO);
	/* the sampler blocks every signal; py-spy must see SIGINT */
	sigset_t none;
	sigemptyset(&none);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof(long));
	execve(path, argv, environ);
	syscall(SYS_exit_group, 127);
	__builtin_unreachable();
}

pid_t spawn__start(const char *path, char *const argv[], int log_fd, int gate_fd)
{
	/* a plain fork would run the program's atfork handlers (and ours) */
	long pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
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
	long pid = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
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
	int r = spawn__wait((pid_t)pid, 2000, &status);
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

int spawn__wait(pid_t pid, int timeout_ms, int *status)
{
	struct timespec nap = { 0, 5000000 };
	for (int waited = 0;; waited += 5) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms)
			return 0;
		nanosleep(&nap, NULL);
	}
}

int spawn__which(const char *name, char *out, size_t size)
{
	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int err = -ENOENT;
	while (*path) {
		const char *colon = strchr(path, ':');
		size_t n = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(out, size, "%.*s/%s", (int)n, n ? path : ".", name);
		if (access(out, X_OK) == 0)
			return 0;
		if (errno == EACCES)
			err = -EACCES;
		path += n + (colon != NULL);
	}
	return err;
}
