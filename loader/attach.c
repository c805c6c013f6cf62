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
#include "session.h"

#define EXIT_USAGE 2

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

/* text for a child of the tree: its own label (LABEL-PID) and no -o FILE, which
 * is the attached process's */
static void child_text(const char *text, long pid, char *out, size_t size)
{
	size_t at = 0;
	out[0] = 0;
	for (const char *l = text; *l && at < size;) {
		size_t n = strcspn(l, "\n");
		if (!strncasecmp(l, "FIL_PERF_RUN_LABEL=", 19))
			at += (size_t)snprintf(out + at, size - at, "%.*s-%ld\n", (int)n, l, pid);
		else if (strncasecmp(l, "FIL_PERF_SPY_FILE=", 18))
			at += (size_t)snprintf(out + at, size - at, "%.*s\n", (int)n, l);
		l += n + (l[n] == '\n');
	}
}

/* --subprocesses: the Python processes below the target given the agent, and
 * those that would not take it yet (a child that has just started runs no Python
 * for a moment: it is tried again a few times before the warning) */
#define CHILD_TRIES 6
struct children {
	long root;
	const char *lib, *text;
	long kids[64];
	int n;
	struct { long pid; int tries; } failed[64];
	int n_failed;
};

static int *tries_of(struct children *c, long pid)
{
	for (int i = 0; i < c->n_failed; i++)
		if (c->failed[i].pid == pid)
			return &c->failed[i].tries;
	if (c->n_failed == 64)
		return NULL;
	c->failed[c->n_failed] = (typeof(c->failed[0])){ pid, 0 };
	return &c->failed[c->n_failed++].tries;
}

/* Loads the agent into every Python process below the root that runs now and has
 * none; called again while the session lasts, so that children started later are
 * reached too (forked ones of a profiled parent follow by themselves). */
static void attach_children(void *ctx)
{
	struct children *c = ctx;
	long tree[256];
	int n = cli__descendants(c->root, tree, 256);
	static char own[6100];
	for (int i = 1; i < n && c->n < 64; i++) {
		char program[256], why[300] = "";
		if (!cli__is_python(tree[i], program, sizeof(program)) || live__answers(tree[i]))
			continue; /* not Python, or sampled already (a fork of a profiled parent) */
		int *tries = tries_of(c, tree[i]);
		if (!tries || *tries >= CHILD_TRIES)
			continue;
		child_text(c->text, tree[i], own, sizeof(own));
		if (inject__agent((pid_t)tree[i], c->lib, own, why, sizeof(why)) == 0)
			c->kids[c->n++] = tree[i];
		else if (++*tries == CHILD_TRIES)
			fs_warn("child pid %ld is not profiled: %s", tree[i], why);
	}
}

/* Asks the agent in pid to write its files and end its session, waits until it
 * has, and names the files. Returns 0, or 1 when it wrote none. */
static int finish_one(const fs_settings *s, long pid, const struct timespec *since)
{
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
	int status = done ? 0 : 1;
	if (!done)
		fs_error("the process ended before the profile could be asked for (pid %ld)", pid);
	else if (!session__name_files(s, dir, label, since)) {
		fs_error("the agent in pid %ld wrote no file (its stderr may say why)", pid);
		status = 1;
	}
	free(info);
	free(done);
	return status;
}

/* Waits for the duration, Ctrl-C/SIGTERM or the end of the process; then each
 * agent (pid's, and its children's with --subprocesses) writes its files and ends
 * its session (it stays loaded: the next attach starts a new one). Returns the
 * exit status: pid's. */
static int run_injected(const fs_settings *s, long pid, const char *lib, const char *text)
{
	struct timespec since;
	clock_gettime(CLOCK_REALTIME, &since);
	static struct children kids;
	kids = (struct children){ .root = pid, .lib = lib, .text = text };
	if (s->subprocesses)
		attach_children(&kids);
	if (!s->quiet)
		fs_info("the agent samples pid %ld%s%s; Ctrl-C ends it", pid,
			s->subprocesses ? " and its Python children (those started later too)" : "",
			s->duration_s > 0 ? " for the duration asked" : "");
	session__wait_calling(s, pid, s->subprocesses ? attach_children : NULL, &kids);
	int status = finish_one(s, pid, &since);
	fs_settings child = *s;
	child.file[0] = 0; /* the children's files have their own names */
	for (int i = 0; i < kids.n; i++)
		if (kill((pid_t)kids.kids[i], 0) == 0)
			finish_one(&child, kids.kids[i], &since);
	if (!status && !s->quiet)
		fs_info("the agent's session ended; the process goes on");
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
	char program[256];
	if (!cli__is_python(pid, program, sizeof(program))) {
		fs_error("pid %ld is not a Python process (it runs %s, with no libpython in it); "
			 "nothing to profile", pid, program);
		return 1;
	}
	extern char **environ;
	fs_settings s;
	settings__parse(&s, environ);
	for (int i = 0; i < s.n_messages; i++)
		fs_warn("%s", s.messages[i]);
	session__catch_signals();
	/* an agent already samples there (filspy run, or an attach going on): reuse it */
	char *running = live__ask(pid, CONTROL_INFO);
	if (running) {
		free(running);
		return session__reuse(&s, pid);
	}
	char lib[PATH_MAX], text[6000], why[300] = "";
	settings_text(text, sizeof(text));
	int err = cli__find_library(lib, sizeof(lib));
	if (!err)
		err = inject__agent((pid_t)pid, lib, text, why, sizeof(why));
	else
		snprintf(why, sizeof(why), "libfilspy.so not found");
	if (!err)
		return run_injected(&s, pid, lib, text);
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
		if (session__stopped() && !forwarded) {
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
			result = session__write(&s, pid, p, difftime(time(NULL), started),
						"pyspy (attached)");
		}
		fclose(f);
		profile__free(p);
	}
	unlink(raw);
	unlink(log);
	rmdir(dir);
	return result;
}
