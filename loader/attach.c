/* `filspy attach [OPTIONS] PID`: profiles a running process. First it loads the
 * agent into it with ptrace (inject.c) and, when the duration ends or on Ctrl-C,
 * asks it to write its files and end its thread; if loading is not permitted or
 * fails, it records the process with `py-spy record --pid` instead and writes the
 * same files with our own writers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"
#include "commands.h"
#include "options.h"
#include "filspy/folded.h"
#include "filspy/control_protocol.h"
#include "filspy/log.h"
#include "filspy/settings.h"
#include "filspy/pyspy_path.h"
#include "filspy/spawn.h"
#include "filspy/writers.h"
#include "inject.h"
#include "live.h"
#include "report.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

static void program_of(long pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	if (!f || !fgets(out, (int)size, f))
		snprintf(out, size, "process");
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = 0;
	settings__sanitize_label(out);
}

static int write_outputs(const fs_settings *s, long pid, fs_profile *p, double seconds)
{
	char label[FS_LABEL_MAX + 32], program[64], title[128];
	program_of(pid, program, sizeof(program));
	if (s->label[0])
		snprintf(label, sizeof(label), "%s", s->label);
	else
		snprintf(label, sizeof(label), "%s-%ld", program, pid);
	snprintf(title, sizeof(title), "%s (pid %ld, attached)", program, pid);
	fs_profile_meta meta = { .title = title, .backend = "pyspy (attached)", .rate_hz = s->rate_hz,
				 .duration_s = seconds, .pid = (int)pid };
	int status = 0;
	bool to_file = s->file[0]; /* -o FILE: the first format goes there */
	/* py-spy's samples tell no GIL states: the gil format (no writer) is skipped */
	for (const fs_format_info *fmt = formats__table; fmt->name; fmt++) {
		if (!(s->formats & fmt->flag) || !fmt->write)
			continue;
		char path[PATH_MAX + FS_LABEL_MAX + 64];
		if (to_file)
			snprintf(path, sizeof(path), "%s", s->file);
		else
			snprintf(path, sizeof(path), "%s/%s%s", s->output_dir, label, fmt->suffix);
		to_file = false;
		fs_format_job job = { fmt, p, &meta };
		if (report__write_file(path, formats__write_job, &job) < 0)
			status = 1;
		else if (!s->quiet)
			fs_info("wrote %s (%llu sample%s)", path, (unsigned long long)profile__samples(p),
				profile__samples(p) == 1 ? "" : "s");
	}
	return status;
}

/* The settings as "NAME=VALUE" lines for the agent: everything the environment
 * (and our options) say, an absolute output directory, quiet by default. */
static void settings_text(char *out, size_t size)
{
	extern char **environ;
	size_t at = 0;
	char cwd[2048];
	bool quiet = false, dir = false;
	for (char **e = environ; *e; e++) {
		if (strncasecmp(*e, "FIL_PERF_", 9))
			continue;
		if (!strncasecmp(*e, "FIL_PERF_OUTPUT_DIR=", 20) && (*e)[20] != '/' && getcwd(cwd, sizeof(cwd))) {
			at += (size_t)snprintf(out + at, size - at, "FIL_PERF_OUTPUT_DIR=%s/%s\n", cwd, *e + 20);
			dir = true;
			continue;
		}
		quiet |= !strncasecmp(*e, "FIL_PERF_SPY_QUIET=", 19);
		dir |= !strncasecmp(*e, "FIL_PERF_OUTPUT_DIR=", 20);
		at += (size_t)snprintf(out + at, size - at, "%s\n", *e);
		if (at >= size)
			at = size - 1;
	}
	if (!quiet)
		at += (size_t)snprintf(out + at, size - at, "FIL_PERF_SPY_QUIET=1\n");
	if (!dir && getcwd(cwd, sizeof(cwd)) && at < size)
		snprintf(out + at, size - at, "FIL_PERF_OUTPUT_DIR=%s/outputs/perf\n", cwd);
}

/* Waits for the duration, Ctrl-C/SIGTERM or the end of the process; then the agent
 * writes its files and ends its thread. Returns the exit status. */
static int run_injected(const fs_settings *s, long pid)
{
	if (!s->quiet)
		fs_info("the agent samples pid %ld%s; Ctrl-C ends it", pid,
			s->duration_s > 0 ? " for the duration asked" : "");
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (stop_signal || (s->duration_s > 0 && elapsed >= s->duration_s) ||
		    (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			break;
		struct timespec nap = { 0, 50000000 };
		nanosleep(&nap, NULL);
	}
	/* asked now, not at the start: the agent opens its socket once its backend runs */
	char *info = live__ask(pid, CONTROL_INFO);
	char *done = live__ask(pid, CONTROL_FINISH);
	/* the agent answers, then writes; its socket goes when it is done. It is
	 * named by the target's uid, not ours: root may attach to anyone's process */
	char sock[128];
	struct stat st;
	control_protocol__path(control_protocol__uid_of(pid), pid, sock, sizeof(sock));
	for (int i = 0; i < 100 && stat(sock, &st) == 0; i++) {
		struct timespec nap = { 0, 50000000 };
		nanosleep(&nap, NULL);
	}
	char label[FS_LABEL_MAX + 32] = "", dir[PATH_MAX] = "";
	for (char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		sscanf(l, "label %159s", label);
		sscanf(l, "dir %4095s", dir);
	}
	if (!s->quiet && label[0] && done)
		fs_info("the agent wrote %s/%s-pyspy.* and its thread ended; the process goes on", dir, label);
	int status = done ? 0 : 1;
	if (!done)
		fs_error("the process ended before the profile could be asked for (pid %ld)", pid);
	free(info);
	free(done);
	return status;
}

int attach__main(int argc, char **argv)
{
	const cli_command *c = commands__named("attach");
	cli_profile_args opts;
	int at = options__apply_profile(c, argc, argv, 1, &opts);
	if (at < 0)
		return EXIT_USAGE;
	if (opts.help)
		return 0;
	char *end = "";
	const char *pidarg = at < argc ? argv[at] : getenv("FIL_PERF_SPY_PID");
	long pid = pidarg ? strtol(pidarg, &end, 10) : 0;
	/* options may also follow the pid: filspy attach PID --duration 2 */
	int rest = at < argc ? options__apply_profile(c, argc, argv, at + 1, &opts) : argc;
	if (rest < 0)
		return EXIT_USAGE;
	if (!pidarg || *end || pid <= 0 || rest != argc) {
		fs_error("usage: filspy attach [OPTIONS] PID   (e.g. --duration 10 --rate 200)");
		return EXIT_USAGE;
	}
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH) {
		fs_error("no process %ld", pid);
		return EXIT_USAGE;
	}
	extern char **environ;
	fs_settings s;
	settings__parse(&s, environ);
	for (int i = 0; i < s.n_messages; i++)
		fs_warn("%s", s.messages[i]);
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	char lib[PATH_MAX], text[6000], why[300] = "";
	settings_text(text, sizeof(text));
	int err = cli__find_library(lib, sizeof(lib));
	if (!err)
		err = inject__agent((pid_t)pid, lib, text, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "libfilspy.so not found");
	if (!err)
		return run_injected(&s, pid);
	fs_info("could not load the agent into pid %ld (%s); recording with py-spy instead", pid, why);
	char pyspy[PATH_MAX], looked[1024];
	if (pyspy_path__find(s.pyspy, pyspy, sizeof(pyspy), looked, sizeof(looked)) < 0) {
		fs_error("attach records with py-spy, which is not found (looked %s): pip install "
			 "py-spy, or set FIL_PERF_SPY_PYSPY", looked);
		return 1;
	}
	if (mkdir(s.output_dir, 0777) < 0 && errno != EEXIST) {
		fs_error("cannot create %s: %s", s.output_dir, strerror(errno));
		return 1;
	}
	char dir[] = "/tmp/filspy-attach-XXXXXX", raw[64], log[64];
	if (!mkdtemp(dir)) {
		fs_error("cannot make a temporary directory: %s", strerror(errno));
		return 1;
	}
	snprintf(raw, sizeof(raw), "%s/raw.txt", dir);
	snprintf(log, sizeof(log), "%s/log.txt", dir);
	char pidtext[24], rate[16], duration[24];
	snprintf(pidtext, sizeof(pidtext), "%ld", pid);
	snprintf(rate, sizeof(rate), "%d", s.rate_hz);
	char *args[20] = { pyspy, "record", "--pid", pidtext, "--rate", rate, "--format", "raw",
			   "--output", raw };
	int n = 10;
	if (s.duration_s > 0) {
		snprintf(duration, sizeof(duration), "%d", (int)(s.duration_s + 0.999));
		args[n++] = "--duration";
		args[n++] = duration;
	}
	if (s.native)
		args[n++] = "--native";
	if (s.gil)
		args[n++] = "--gil";
	if (s.idle)
		args[n++] = "--idle";
	if (s.threads)
		args[n++] = "--threads";
	if (s.subprocesses)
		args[n++] = "--subprocesses";
	args[n] = NULL;
	int log_fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	time_t started = time(NULL);
	pid_t child = spawn__start(pyspy, args, log_fd, -1);
	if (log_fd >= 0)
		close(log_fd);
	if (child < 0) {
		fs_error("cannot start %s: %s", pyspy, strerror(-child));
		return 1;
	}
	if (!s.quiet)
		fs_info("recording pid %ld with py-spy%s; Ctrl-C ends it", pid,
			s.duration_s > 0 ? " for the duration asked" : "");
	int status = 0;
	bool forwarded = false;
	for (;;) {
		int r = spawn__wait(child, 100, &status);
		if (r != 0)
			break;
		if (stop_signal && !forwarded) {
			kill(child, SIGINT); /* py-spy writes its file on SIGINT */
			forwarded = true;
		}
	}
	int result = 0;
	FILE *f = fopen(raw, "re");
	if (!f) {
		char line[300] = "";
		FILE *l = fopen(log, "re");
		while (l && fgets(line, sizeof(line), l))
			if (strstr(line, "Error") || strstr(line, "rror:"))
				break;
		if (l)
			fclose(l);
		line[strcspn(line, "\n")] = 0;
		fs_error("py-spy recorded nothing: %s%s", line[0] ? line : "no message",
			 strstr(line, "ermission") ? " (ptrace: run as root or with CAP_SYS_PTRACE, "
			 "kernel.yama.ptrace_scope <= 1)" : "");
		result = 1;
	} else {
		fs_profile *p = profile__new(0);
		long bad;
		if (!p || folded__read(p, f, &bad) < 0) {
			fs_error("cannot read py-spy's output (line %ld)", bad);
			result = 1;
		} else {
			result = write_outputs(&s, pid, p, difftime(time(NULL), started));
		}
		fclose(f);
		profile__free(p);
	}
	unlink(raw);
	unlink(log);
	rmdir(dir);
	return result;
}
