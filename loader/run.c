/* `filspy run` / `filspy record` (also installed as perf-pyspy): sets the settings
 * and LD_PRELOAD, runs the command and waits for it, so that it can say when no
 * profile came of it; the exit status is the command's own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "attach.h"
#include "cli.h"
#include "options.h"
#include "run.h"

#define EXIT_USAGE 2

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static int preload(void)
{
	char lib[PATH_MAX];
	int err = cli__find_library(lib, sizeof(lib));
	if (err) {
		fs_error("cannot find libfilspy.so next to filspy or in ../lib (%s); set "
			 "FILSPY_LIBRARY", strerror(-err));
		return -1;
	}
	const char *was = getenv("LD_PRELOAD");
	if (was && *was && !strstr(was, lib)) {
		size_t n = strlen(lib) + strlen(was) + 2;
		char *both = malloc(n);
		if (!both)
			return -1;
		snprintf(both, n, "%s:%s", lib, was);
		setenv("LD_PRELOAD", both, 1);
		free(both);
	} else if (!was || !*was) {
		setenv("LD_PRELOAD", lib, 1);
	}
	setenv("FIL_PERF_SPY_ENABLED", "1", 1);
	return 0;
}

static bool newer(const char *path, const struct timespec *since)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mtim.tv_sec > since->tv_sec ||
					(st.st_mtim.tv_sec == since->tv_sec &&
					 st.st_mtim.tv_nsec >= since->tv_nsec));
}

/* Whether some agent wrote a file of this run: FILE, or a <label>-pyspy* file in
 * the output directory (not a checkpoint) changed since the run began. */
static bool wrote_profile(const fs_settings *s, const struct timespec *since)
{
	if (s->file[0] && newer(s->file, since))
		return true;
	DIR *d = opendir(s->output_dir);
	bool found = false;
	for (struct dirent *e; d && !found && (e = readdir(d));) {
		char path[PATH_MAX + 256];
		if (!strstr(e->d_name, "-pyspy") || strstr(e->d_name, ".partial.") ||
		    strstr(e->d_name, ".tmp."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", s->output_dir, e->d_name);
		found = newer(path, since);
	}
	if (d)
		closedir(d);
	return found;
}

/* Runs argv, waits, and returns its exit status (a signal ends us the same way). */
static int run_and_wait(const fs_settings *s, char **argv)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fs_error("cannot run %s: %s", argv[0], strerror(errno));
		return 126;
	}
	/* file times come from a coarser clock, up to a tick behind: 50 ms of slack */
	struct timespec since;
	clock_gettime(CLOCK_REALTIME, &since);
	since.tv_nsec -= 50000000;
	if (since.tv_nsec < 0) {
		since.tv_sec--;
		since.tv_nsec += 1000000000;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		execvp(argv[0], argv);
		int err = errno;
		ssize_t ignored = write(pipefd[1], &err, sizeof(err));
		(void)ignored;
		_exit(err == ENOENT ? 127 : 126);
	}
	close(pipefd[1]);
	if (pid < 0) {
		fs_error("cannot run %s: %s", argv[0], strerror(errno));
		return 126;
	}
	child = pid;
	/* the terminal's ^C and ^\ reach the command itself; kill(1)'s go on to it */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	struct sigaction sa = { .sa_handler = forward };
	sigemptyset(&sa.sa_mask);
	int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM };
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(*forwarded); i++)
		sigaction(forwarded[i], &sa, NULL);
	int exec_err = 0;
	while (read(pipefd[0], &exec_err, sizeof(exec_err)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	/* any child: as a container's pid 1, orphans of the command are ours to reap */
	int status;
	for (pid_t w; (w = waitpid(-1, &status, 0)) != pid;)
		if (w < 0 && errno != EINTR)
			return 1;
	if (exec_err) {
		fs_error("cannot run %s: %s", argv[0], strerror(exec_err));
		return exec_err == ENOENT ? 127 : 126;
	}
	if (s->mode != FS_MODE_TOP && !wrote_profile(s, &since))
		fs_warn("no profile written: %s ran no Python process that filspy profiled", argv[0]);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct rlimit none = { 0, 0 };
		setrlimit(RLIMIT_CORE, &none); /* the command dumped its core already */
		signal(sig, SIG_DFL);
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		return 128 + sig;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int run__main(const cli_command *c, int argc, char **argv, int first)
{
	cli_profile_args args;
	int cmd = options__apply_profile(c, argc, argv, first, &args);
	if (cmd < 0)
		return EXIT_USAGE;
	if (args.help)
		return 0;
	fs_settings s;
	extern char **environ;
	settings__parse(&s, environ);
	if (s.pid) { /* --pid / FIL_PERF_SPY_PID: attach instead of running a command */
		if (cmd < argc) {
			fs_error("%s: give --pid PID or a command, not both", c->name);
			return EXIT_USAGE;
		}
		char pid[24];
		snprintf(pid, sizeof(pid), "%ld", s.pid);
		char *attach_argv[] = { "attach", pid, NULL };
		return attach__main(2, attach_argv);
	}
	if (cmd >= argc) {
		fs_error("no command to run (usage: filspy %s %s)", c->name, c->args);
		return EXIT_USAGE;
	}
	if (preload() < 0)
		return EXIT_USAGE;
	return run_and_wait(&s, argv + cmd);
}
