/* The `pyspy` backend: a `py-spy record --pid <us>` child that we allow to ptrace
 * us; its raw output becomes our profile at the end, so every backend writes the
 * same files. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "filspy/folded.h"
#include "filspy/log.h"
#include "filspy/pyspy_path.h"
#include "filspy/spawn.h"

/* PYSPY_MIN_MAJOR.PYSPY_MIN_MINOR spelt out, for the message */
#define WORD_(n) #n
#define WORD(n) WORD_(n)
#define MIN_VERSION WORD(PYSPY_MIN_MAJOR) "." WORD(PYSPY_MIN_MINOR)
#define EARLY_DEATH_MS 700      /* an attach that fails does so at once */
#define PYSPY_LAUNCHES 2        /* when it did not find the interpreter */
#define RELAUNCH_AFTER_US 200000
#define STOP_TIMEOUT_MS 5000    /* py-spy writes its file on SIGINT */

struct pyspy_state {
	pid_t pid;
	char dir[64];           /* private temporary directory */
	char raw[128];          /* py-spy's output */
	char log[128];          /* py-spy's stdout and stderr */
	bool exited;
	int status;
	char why[512];          /* why it stopped early */
};

static char start_why[512];     /* sampler thread only */

/* What py-spy said went wrong, in one line: its "Error:" line and first cause
 * (it follows them with a backtrace), else its last line. */
static void last_log_line(const struct pyspy_state *st, char *out, size_t size)
{
	out[0] = 0;
	FILE *f = fopen(st->log, "re");
	if (!f)
		return;
	char line[400], error[400] = "", last[400] = "";
	bool cause_next = false;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = 0;
		char *text = line + strspn(line, " \t");
		if (!*text)
			continue;
		if (!strncmp(text, "Error: ", 7) && !error[0]) {
			snprintf(error, sizeof(error), "%s", text + 7);
		} else if (!strcmp(text, "Caused by:")) {
			cause_next = true;
			continue;
		} else if (cause_next && error[0]) {
			size_t n = strlen(error);
			const char *cause = strstr(text, ": ") && text[0] >= '0' && text[0] <= '9'
						    ? strstr(text, ": ") + 2 : text;
			snprintf(error + n, sizeof(error) - n, " (%s)", cause);
		}
		cause_next = false;
		snprintf(last, sizeof(last), "%s", text);
	}
	fclose(f);
	snprintf(out, size, "%s", error[0] ? error : last);
}

/* py-spy's own version, as version[0].version[1]. */
static int run_version(const char *path, int version[2])
{
	char log[] = "/tmp/filspy-pyspy-version-XXXXXX";
	int fd = mkostemp(log, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *argv[] = { (char *)path, "--version", NULL };
	pid_t pid = spawn__start(path, argv, fd, -1);
	int status = 0, r = pid < 0 ? pid : spawn__wait(pid, 3000, &status);
	if (r == 0) {
		kill(pid, SIGKILL);
		spawn__wait(pid, 1000, &status);
	}
	char text[128] = "";
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	text[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(log);
	if (r <= 0 || sscanf(text, "py-spy %d.%d", &version[0], &version[1]) != 2)
		return -ENOEXEC;
	return 0;
}

static const char *yama_hint(char *buf, size_t size)
{
	FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	int scope = -1;
	if (f) {
		if (fscanf(f, "%d", &scope) != 1)
			scope = -1;
		fclose(f);
	}
	if (scope < 0)
		snprintf(buf, size, "kernel.yama.ptrace_scope: not present on this kernel");
	else
		snprintf(buf, size, "kernel.yama.ptrace_scope is %d%s", scope,
			 scope >= 2 ? " (set it to 1: sysctl kernel.yama.ptrace_scope=1)" : "");
	return buf;
}

static void say_ptrace_fixes(void)
{
	char yama[160];
	fs_warn("py-spy needs ptrace: in Docker run with --cap-add SYS_PTRACE; %s; a seccomp "
		"profile must allow ptrace and process_vm_readv",
		yama_hint(yama, sizeof(yama)));
}

static void cleanup(struct pyspy_state *st)
{
	if (st->dir[0]) {
		unlink(st->raw);
		unlink(st->log);
		rmdir(st->dir);
	}
}

/* Gives up starting: nothing of this backend stays behind. */
static int fail(fs_agent *a, const char **why, int err, const char *fmt, const char *arg)
{
	struct pyspy_state *st = a->backend_state;
	snprintf(start_why, sizeof(start_why), fmt, arg);
	*why = start_why;
	if (st->pid > 0 && !st->exited) {
		kill(st->pid, SIGKILL);
		spawn__wait(st->pid, 1000, &st->status);
	}
	cleanup(st);
	free(st);
	a->backend_state = NULL;
	return err;
}

static void build_args(fs_agent *a, struct pyspy_state *st, const char *path, char **argv,
		       char strings[][32])
{
	const fs_settings *s = &a->settings;
	int n = 0, k = 0;
	argv[n++] = (char *)path;
	argv[n++] = "record";
	argv[n++] = "--pid";
	snprintf(strings[k], 32, "%d", a->pid);
	argv[n++] = strings[k++];
	argv[n++] = "--rate";
	snprintf(strings[k], 32, "%d", s->rate_hz);
	argv[n++] = strings[k++];
	argv[n++] = "--format";
	argv[n++] = "raw";
	argv[n++] = "--output";
	argv[n++] = st->raw;
	if (s->native)
		argv[n++] = "--native";
	if (s->gil)
		argv[n++] = "--gil";
	if (s->idle)
		argv[n++] = "--idle";
	if (s->threads)
		argv[n++] = "--threads";
	if (s->subprocesses)
		argv[n++] = "--subprocesses";
	/* py-spy's own: --function shows the function's first line, as ours does */
	if (s->function && !s->nolineno)
		argv[n++] = "--function";
	if (s->nolineno)
		argv[n++] = "--nolineno";
	if (s->full_filenames)
		argv[n++] = "--full-filenames";
	argv[n] = NULL;
}

/* Starts py-spy on this process and waits for an early death. 0 when it runs;
 * -EPERM when it exited at once (line: its last words), else -errno (line: why). */
static int launch(fs_agent *a, struct pyspy_state *st, const char *path, char *line, size_t size)
{
	int log = open(st->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int gate[2];
	if (log < 0 || pipe2(gate, O_CLOEXEC) < 0) {
		int err = -errno;
		if (log >= 0)
			close(log);
		snprintf(line, size, "cannot prepare py-spy: %s", strerror(-err));
		return err;
	}
	char *argv[24], strings[4][32];
	build_args(a, st, path, argv, strings);
	st->exited = false;
	st->pid = spawn__start(path, argv, log, gate[0]);
	close(log);
	close(gate[0]);
	if (st->pid < 0) {
		close(gate[1]);
		snprintf(line, size, "cannot start py-spy: %s", strerror(-st->pid));
		return st->pid;
	}
	/* exactly this child may ptrace us, and only once it knows it may */
	prctl(PR_SET_PTRACER, st->pid, 0, 0, 0);
	if (write(gate[1], "g", 1) != 1)
		fs_debug("py-spy gate: %s", strerror(errno));
	close(gate[1]);
	if (spawn__wait(st->pid, EARLY_DEATH_MS, &st->status) != 0) {
		st->exited = true;
		last_log_line(st, line, size);
		return -EPERM;
	}
	return 0;
}

static int pyspy_start(fs_agent *a, const char **why)
{
	a->lost_known = false; /* py-spy does not say what it dropped */
	a->gil_known = false;
	a->native_frames = a->settings.native;  /* py-spy --native */
	a->gil_samples = a->active_samples = 0;
	a->python_threads = 0;
	struct pyspy_state *st = calloc(1, sizeof(*st));
	if (!st) {
		*why = "out of memory";
		return -ENOMEM;
	}
	a->backend_state = st;
	char path[4096], looked[1024];
	int err = pyspy_path__find(a->settings.pyspy, path, sizeof(path), looked, sizeof(looked));
	if (err)
		return fail(a, why, err, "py-spy not found (looked %s): pip install py-spy, or set "
			    "FIL_PERF_SPY_PYSPY", looked);
	int version[2];
	if (run_version(path, version) < 0)
		return fail(a, why, -ENOEXEC, "%s does not run or is not py-spy", path);
	if (version[0] < PYSPY_MIN_MAJOR ||
	    (version[0] == PYSPY_MIN_MAJOR && version[1] < PYSPY_MIN_MINOR))
		return fail(a, why, -ENOTSUP, "%s is older than " MIN_VERSION "; pip install -U py-spy",
			    path);

	err = spawn__can_trace_parent();
	if (err) {
		say_ptrace_fixes();
		return fail(a, why, err, "a child may not ptrace this process (%s)", strerror(-err));
	}
	snprintf(st->dir, sizeof(st->dir), "/tmp/filspy-pyspy-XXXXXX");
	if (!mkdtemp(st->dir))
		return fail(a, why, -errno, "cannot make a temporary directory: %s", strerror(errno));
	snprintf(st->raw, sizeof(st->raw), "%s/raw.txt", st->dir);
	snprintf(st->log, sizeof(st->log), "%s/log.txt", st->dir);
	char line[400] = "";
	for (int attempt = 1;; attempt++) {
		err = launch(a, st, path, line, sizeof(line));
		/* py-spy looks for the interpreter once, when it starts; in a process
		 * still starting up (a .pth file's imports) it can miss it (CI saw "Failed
		 * to find a python interpreter in the .data section"): once more, later */
		if (err != -EPERM || attempt == PYSPY_LAUNCHES || !strstr(line, "find a python interpreter"))
			break;
		fs_debug("py-spy: %s; starting it again", line);
		usleep(RELAUNCH_AFTER_US);
	}
	if (err == -EPERM) {
		if (strstr(line, "ermission") || strstr(line, "ptrace") || strstr(line, "EPERM"))
			say_ptrace_fixes();
		return fail(a, why, -EPERM, "py-spy exited at once: %s", line[0] ? line : "no message");
	}
	if (err)
		return fail(a, why, err, "%s", line);
	fs_debug("py-spy %d.%d (pid %d) records this process", version[0], version[1], st->pid);
	return 0;
}

static bool pyspy_alive(fs_agent *a, const char **why)
{
	struct pyspy_state *st = a->backend_state;
	if (st->exited)
		return false;
	int r = spawn__wait(st->pid, 0, &st->status);
	if (r == 0)
		return true;
	st->exited = true;
	char line[400];
	last_log_line(st, line, sizeof(line));
	snprintf(st->why, sizeof(st->why), "py-spy stopped early: %s", line[0] ? line : "no message");
	*why = st->why;
	return false;
}

static void pyspy_stop(fs_agent *a)
{
	struct pyspy_state *st = a->backend_state;
	if (!st)
		return;
	if (st->pid > 0 && !st->exited) {
		kill(st->pid, SIGINT);
		int r = spawn__wait(st->pid, STOP_TIMEOUT_MS, &st->status);
		if (r == 0) {
			fs_warn("py-spy did not stop within %d ms; its samples are lost", STOP_TIMEOUT_MS);
			kill(st->pid, SIGKILL);
			spawn__wait(st->pid, 1000, &st->status);
		}
		st->exited = true;
	}
	FILE *f = st->dir[0] ? fopen(st->raw, "re") : NULL;
	if (f) {
		long bad;
		int err = folded__read_imports(a->profile, f, &bad, !a->settings.raw_imports);
		if (err == -EINVAL)
			fs_warn("py-spy's output has a line filspy cannot read (line %ld)", bad);
		fclose(f);
	} else if (st->pid > 0) {
		char line[400];
		last_log_line(st, line, sizeof(line));
		fs_warn("py-spy wrote no profile: %s", line[0] ? line : "no message");
	}
	cleanup(st);
	free(st);
	a->backend_state = NULL;
}

const fs_backend backend_pyspy = {
	.name = "pyspy",
	.start = pyspy_start,
	.sample = NULL,
	.alive = pyspy_alive,
	.stop = pyspy_stop,
};
