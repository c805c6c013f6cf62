/* `filspy doctor`: tries, rather than guesses, what this host allows the bpf,
 * pyspy and self backends, and says how to fix what is refused. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attach.h"
#include "doctor.h"
#include "filspy/pystacks_api.h"
#include "filspy/log.h"
#include "filspy/pyspy_path.h"

#define EXIT_USAGE 2
#define CHILD_TIMEOUT_MS 5000
#define MAX_CHECKS 16
#define MAX_PYTHONS 64
#define TEXT 512

/* Capabilities the backends care about (bit numbers of CapEff). */
#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

struct check {
	const char *name;
	const char *status; /* "ok", "no" or "unknown" */
	char detail[TEXT];
	char fix[TEXT];
};

/* What the host says about itself; -1 where a file or field is absent. */
struct host {
	struct utsname uts;
	int uts_err; /* errno of uname, 0 when it worked */
	int kmajor, kminor;
	int unpriv_bpf, paranoid, yama;
	unsigned long long caps;
	bool caps_known;
	int seccomp, seccomp_filters, tracer_pid;
	const char *container; /* what gave a container away, or NULL */
};

/* What the trials found: 0 when allowed, else the errno of the refusal. */
struct trials {
	int bpf;          /* BPF_PROG_LOAD of a perf-event program */
	int perf;         /* perf_event_open of a sampling CPU clock on ourselves */
	int trace_child;  /* we PTRACE_SEIZE a child of ours */
	int trace_parent; /* a child, granted PR_SET_PTRACER, seizes us */
	int vm_readv;     /* process_vm_readv of our own memory */
};

struct python {
	char path[PATH_MAX];
	char version[32];
	const char *supported;
	int shared; /* 1 shared libpython, 0 static, -1 unknown */
	char note[96]; /* why the version is unknown */
	dev_t dev;
	ino_t ino;
};

static struct check checks[MAX_CHECKS];
static int n_checks;
static struct python pythons[MAX_PYTHONS];
static int n_pythons;

static struct check *add(const char *name, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct check *add(const char *name, const char *status, const char *fmt, ...)
{
	static struct check spare; /* never printed: only if MAX_CHECKS is too small */
	struct check *c = n_checks < MAX_CHECKS ? &checks[n_checks++] : &spare;
	c->name = name;
	c->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	c->fix[0] = 0;
	return c;
}

static void set_fix(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fix(struct check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->fix, sizeof(c->fix), fmt, ap);
	va_end(ap);
}

static const char *status_of(const char *name)
{
	for (int i = 0; i < n_checks; i++)
		if (!strcmp(checks[i].name, name))
			return checks[i].status;
	return "unknown";
}

static bool is_ok(const char *name)
{
	return !strcmp(status_of(name), "ok");
}

/* Appends to a string being built in buf. */
static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t at = strlen(buf);
	if (at + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + at, size - at, fmt, ap);
	va_end(ap);
}

/* ---- reading the host ---- */

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = -1;
	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* The value of "Field:" in /proc/self/status into out; false when absent. */
static bool status_field(const char *field, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	size_t n = strlen(field);
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, field, n) || line[n] != ':')
			continue;
		char *v = line + n + 1;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = 0;
		snprintf(out, size, "%s", v);
		found = true;
	}
	if (f)
		fclose(f);
	return found;
}

static int status_int(const char *field)
{
	char v[64];
	return status_field(field, v, sizeof(v)) ? atoi(v) : -1;
}

static const char *container_hint(void)
{
	if (access("/.dockerenv", F_OK) == 0)
		return "/.dockerenv";
	if (access("/run/.containerenv", F_OK) == 0)
		return "/run/.containerenv";
	FILE *f = fopen("/proc/1/cgroup", "re");
	char line[512];
	const char *found = NULL;
	while (f && !found && fgets(line, sizeof(line), f))
		if (strstr(line, "docker") || strstr(line, "containerd") || strstr(line, "kubepods") ||
		    strstr(line, "libpod"))
			found = "/proc/1/cgroup";
	if (f)
		fclose(f);
	return found;
}

static void read_host(struct host *h)
{
	memset(h, 0, sizeof(*h));
	h->uts_err = uname(&h->uts) == 0 ? 0 : errno;
	if (h->uts_err || sscanf(h->uts.release, "%d.%d", &h->kmajor, &h->kminor) != 2)
		h->kmajor = h->kminor = -1;
	h->unpriv_bpf = read_int_file("/proc/sys/kernel/unprivileged_bpf_disabled");
	h->paranoid = read_int_file("/proc/sys/kernel/perf_event_paranoid");
	h->yama = read_int_file("/proc/sys/kernel/yama/ptrace_scope");
	char v[64];
	h->caps_known = status_field("CapEff", v, sizeof(v));
	h->caps = h->caps_known ? strtoull(v, NULL, 16) : 0;
	h->seccomp = status_int("Seccomp");
	h->seccomp_filters = status_int("Seccomp_filters");
	h->tracer_pid = status_int("TracerPid");
	h->container = container_hint();
}

static bool has_cap(const struct host *h, int bit)
{
	return h->caps >> bit & 1;
}

static bool kernel_at_least(const struct host *h, int major, int minor)
{
	return h->kmajor > major || (h->kmajor == major && h->kminor >= minor);
}

/* ---- children that never outlive us nor the timeout ---- */

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int left_ms(long long deadline)
{
	long long left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

/* The process group of the program being run, which the terminal's Ctrl-C does
 * not reach (it has its own group so a timeout can kill all of it). */
static volatile sig_atomic_t probe_group;

static void die_with_probe(int sig)
{
	pid_t group = probe_group;
	if (group > 0)
		kill(-group, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig); /* delivered, now fatal, when this handler returns */
}

static void handle_signals(void)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = die_with_probe;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(*fatal); i++) {
		struct sigaction old;
		/* one ignored (nohup, a background job) stays ignored */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(fatal[i], &sa, NULL);
	}
	/* a trial child that died early must not kill us through a pipe */
	signal(SIGPIPE, SIG_IGN);
}

/* fork(), with the child made to die with us: no check leaves one behind. */
static pid_t fork_child(void)
{
	pid_t parent = getpid();
	fflush(NULL); /* or the child's exit flushes our buffers a second time */
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != parent)
		_exit(127);
	signal(SIGPIPE, SIG_DFL); /* we ignore it; what we exec must not inherit that */
	return 0;
}

/* Waits until deadline for pid to exit, then kills it (and its process group
 * when group) and reaps it. Returns its wait status, or -ETIMEDOUT when it had to
 * be killed. */
static int reap(pid_t pid, bool group, long long deadline)
{
	struct timespec nap = { 0, 5 * 1000 * 1000 };
	bool exited = false;
	for (;;) {
		siginfo_t info;
		memset(&info, 0, sizeof(info));
		/* WNOWAIT: until reaped, the zombie keeps its group's id from being reused */
		int r = waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT);
		if (r == 0 && info.si_pid == pid) {
			exited = true;
			break;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			break;
		nanosleep(&nap, NULL);
	}
	/* also what it left running, such as a wrapper script's own children */
	kill(group ? -pid : pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return exited ? status : -ETIMEDOUT;
}

/* Whether fd has something to read (or its end) before deadline. */
static bool readable(int fd, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	for (;;) {
		int r = poll(&p, 1, left_ms(deadline));
		if (r > 0)
			return true;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

/* Reads fd until its end or the deadline; keeps the first size - 1 bytes. */
static void read_until(int fd, char *out, size_t size, long long deadline)
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

/* Runs argv (no shell) for at most CHILD_TIMEOUT_MS with stdin and stderr on
 * /dev/null; out gets the first line of its stdout. Returns its wait status, or
 * -errno (-ETIMEDOUT when it was killed). */
static int run_capture(char *const argv[], char *out, size_t size)
{
	int p[2];
	out[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork_child();
	if (pid < 0) {
		int err = errno;
		close(p[0]);
		close(p[1]);
		return -err;
	}
	if (pid == 0) {
		setpgid(0, 0);
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(126);
		/* a preloaded agent must not profile our probes */
		unsetenv("FIL_PERF_SPY_ENABLED");
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	setpgid(pid, pid); /* as the child does: whichever runs first */
	probe_group = pid;
	long long deadline = now_ms() + CHILD_TIMEOUT_MS;
	read_until(p[0], out, size, deadline);
	close(p[0]);
	out[strcspn(out, "\n")] = 0;
	int rc = reap(pid, true, deadline);
	probe_group = 0;
	return rc;
}

/* What went wrong with a run_capture, for a detail line. */
static const char *run_failure(int rc, char *buf, size_t size)
{
	if (rc == -ETIMEDOUT)
		snprintf(buf, size, "did not answer within %d s and was killed", CHILD_TIMEOUT_MS / 1000);
	else if (rc < 0)
		snprintf(buf, size, "cannot be run: %s", strerror(-rc));
	else if (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)
		snprintf(buf, size, "cannot be executed");
	else if (WIFEXITED(rc))
		snprintf(buf, size, "exited with status %d", WEXITSTATUS(rc));
	else
		snprintf(buf, size, "was killed by signal %d", WTERMSIG(rc));
	return buf;
}

static bool run_ok(int rc)
{
	return rc >= 0 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

/* Finds name on PATH (taken as a path when it has a '/'). 0, or -errno. */
static int which(const char *name, char *out, size_t size)
{
	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	int err = -ENOENT;
	while (*path) {
		size_t n = strcspn(path, ":");
		if (n) /* an empty entry is the current directory */
			snprintf(out, size, "%.*s/%s", (int)n, path, name);
		else
			snprintf(out, size, "./%s", name);
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			err = -EACCES;
		}
		path += n + (path[n] == ':');
	}
	return err;
}

/* ---- the trials ---- */

/* A trivial perf-event program (r0 = 0; exit): what the bpf backend would attach
 * to a CPU clock. Perf-event programs always need CAP_BPF and CAP_PERFMON. */
static int try_bpf(void)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_PERF_EVENT;
	attr.insns = (uint64_t)(uintptr_t)prog;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* A CPU-clock sampling event on ourselves, user space only: kernel samples
 * would need kernel.perf_event_paranoid <= 1, and Python runs in user space. */
static int try_perf(void)
{
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.size = sizeof(pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	pe.sample_period = 10 * 1000 * 1000; /* ns of CPU time: 100 Hz */
	pe.sample_type = PERF_SAMPLE_IP;
	pe.disabled = 1;
	pe.exclude_kernel = 1;
	pe.exclude_hv = 1;
	int fd = (int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* We attach to a child of ours that waits on a pipe: the direction Yama's
 * restricted mode always allows, so a refusal is seccomp or a missing capability. */
static int try_trace_child(void)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC) < 0)
		return errno;
	pid_t pid = fork_child();
	if (pid < 0) {
		int err = errno;
		close(gate[0]);
		close(gate[1]);
		return err;
	}
	if (pid == 0) {
		char byte;
		close(gate[1]);
		/* until the parent closes its end */
		while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(gate[0]);
	int err = ptrace(PTRACE_SEIZE, pid, NULL, NULL) == 0 ? 0 : errno;
	close(gate[1]);
	reap(pid, false, now_ms() + CHILD_TIMEOUT_MS);
	return err;
}

/* The pyspy backend's direction: a child of ours, granted PR_SET_PTRACER, seizes
 * us and writes the errno back on a pipe. */
static void trace_parent_child(int go, int result)
{
	char byte;
	int err = EPIPE;
	if (read(go, &byte, 1) == 1)
		err = ptrace(PTRACE_SEIZE, getppid(), NULL, NULL) == 0 ? 0 : errno;
	if (write(result, &err, sizeof(err)) != (ssize_t)sizeof(err))
		_exit(1);
	/* exiting detaches: PTRACE_DETACH wants a stopped tracee, SEIZE never stopped it */
	_exit(0);
}

static int try_trace_parent(void)
{
	int go[2], result[2];
	if (pipe2(go, O_CLOEXEC) < 0)
		return errno;
	if (pipe2(result, O_CLOEXEC) < 0) {
		int err = errno;
		close(go[0]);
		close(go[1]);
		return err;
	}
	pid_t pid = fork_child();
	if (pid == 0) {
		close(go[1]);
		close(result[0]);
		trace_parent_child(go[0], result[1]);
	}
	int err = pid < 0 ? errno : ETIMEDOUT;
	close(go[0]);
	close(result[1]);
	if (pid > 0) {
		long long deadline = now_ms() + CHILD_TIMEOUT_MS;
		/* Yama's restricted mode wants the grant; without Yama it is EINVAL, and moot */
		prctl(PR_SET_PTRACER, pid, 0, 0, 0);
		if (write(go[1], "g", 1) != 1)
			err = errno;
		else if (readable(result[0], deadline) &&
			 read(result[0], &err, sizeof(err)) != (ssize_t)sizeof(err))
			err = EPIPE;
		prctl(PR_SET_PTRACER, 0, 0, 0, 0);
		reap(pid, false, deadline);
	}
	close(go[1]);
	close(result[0]);
	return err;
}

static int try_vm_readv(void)
{
	volatile int local = 0x5eed;
	int copy = 0;
	struct iovec l = { &copy, sizeof(copy) };
	struct iovec r = { (void *)&local, sizeof(local) };
	ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	if (n < 0)
		return errno;
	return n == (ssize_t)sizeof(copy) && copy == local ? 0 : EIO;
}

static void run_trials(struct trials *t)
{
	t->bpf = try_bpf();
	t->perf = try_perf();
	t->trace_child = try_trace_child();
	t->trace_parent = try_trace_parent();
	t->vm_readv = try_vm_readv();
}

/* ---- the checks: what the trials and the host mean ---- */

static void check_kernel(const struct host *h)
{
	if (h->uts_err || h->kmajor < 0) {
		add("kernel", "unknown", "uname: %s", h->uts_err ? strerror(h->uts_err) :
		    "a release that is not N.N");
		return;
	}
	if (kernel_at_least(h, 5, 8)) {
		add("kernel", "ok", "Linux %s: 5.8 or newer, as the bpf backend needs", h->uts.release);
		return;
	}
	struct check *c = add("kernel", "no", "Linux %s is older than 5.8, which the bpf backend "
			      "needs (pyspy and self work on it)", h->uts.release);
	set_fix(c, "a 5.8 or newer kernel for the bpf backend");
}

/* Read, not just stat'ed: a container may mask /sys. */
static void check_btf(void)
{
	const char *path = "/sys/kernel/btf/vmlinux";
	unsigned char magic[2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	ssize_t n = fd < 0 ? -1 : read(fd, magic, sizeof(magic));
	if (fd >= 0 && n < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	struct check *c;
	if (!err && n == 2 && magic[0] == 0x9f && magic[1] == 0xeb) {
		add("kernel BTF", "ok", "%s is readable BTF", path);
		return;
	}
	if (err == ENOENT) {
		c = add("kernel BTF", "no", "%s is missing: the kernel is built without "
			"CONFIG_DEBUG_INFO_BTF", path);
		set_fix(c, "a kernel with CONFIG_DEBUG_INFO_BTF=y (most distributions' since 2020)");
	} else if (err) {
		c = add("kernel BTF", "no", "%s cannot be read: %s", path, strerror(err));
		set_fix(c, "run as root, or make /sys/kernel/btf readable (in a container: mount it)");
	} else {
		add("kernel BTF", "unknown", "%s does not start with the BTF magic", path);
	}
}

/* " (kernel.x=N, kernel.y=N)" for the sysctls that exist. */
static void sysctl_note(const struct host *h, char *buf, size_t size)
{
	buf[0] = 0;
	if (h->unpriv_bpf >= 0)
		append(buf, size, "; kernel.unprivileged_bpf_disabled=%d", h->unpriv_bpf);
	if (h->paranoid >= 0)
		append(buf, size, "; kernel.perf_event_paranoid=%d", h->paranoid);
}

static void check_bpf(const struct host *h, const struct trials *t)
{
	const char *what = "loading a perf-event BPF program (r0 = 0; exit)";
	char note[160];
	struct check *c;
	sysctl_note(h, note, sizeof(note));
	if (!t->bpf) {
		add("BPF permission", "ok", "%s works", what);
		return;
	}
	if (t->bpf == EPERM || t->bpf == EACCES) {
		c = add("BPF permission", "no", "%s: not permitted (needs CAP_BPF and CAP_PERFMON, "
			"or root%s)", what, note);
		if (h->container)
			set_fix(c, "docker run --cap-add BPF --cap-add PERFMON (Docker 20.10+), or "
				"--cap-add SYS_ADMIN; a seccomp profile that allows bpf");
		else
			set_fix(c, "run as root, or grant CAP_BPF and CAP_PERFMON (setcap or "
				"systemd AmbientCapabilities)");
		/* before 5.11 BPF memory counted against RLIMIT_MEMLOCK, and running out was EPERM */
		if (!kernel_at_least(h, 5, 11) && (has_cap(h, CAP_BPF_BIT) || has_cap(h, CAP_SYS_ADMIN_BIT)))
			append(c->fix, sizeof(c->fix), "; this kernel also counts BPF against "
			       "RLIMIT_MEMLOCK: ulimit -l unlimited");
		return;
	}
	if (t->bpf == ENOSYS) {
		c = add("BPF permission", "no", "%s: the kernel has no bpf(2) (CONFIG_BPF_SYSCALL)", what);
		set_fix(c, "a kernel with CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y");
		return;
	}
	if (t->bpf == EINVAL) {
		c = add("BPF permission", "no", "%s: the kernel refuses it: %s (CONFIG_BPF_EVENTS "
			"off, or too old)", what, strerror(t->bpf));
		set_fix(c, "a 5.8 or newer kernel with CONFIG_BPF_EVENTS=y");
		return;
	}
	add("BPF permission", "unknown", "%s: %s%s", what, strerror(t->bpf), note);
}

static void check_perf(const struct host *h, const struct trials *t)
{
	const char *what = "a CPU-clock sampling event on this process (perf_event_open)";
	struct check *c;
	if (!t->perf) {
		add("perf events", "ok", "%s opens", what);
		return;
	}
	if (t->perf == EPERM || t->perf == EACCES) {
		char note[64] = "";
		if (h->paranoid >= 0)
			snprintf(note, sizeof(note), "; kernel.perf_event_paranoid=%d", h->paranoid);
		c = add("perf events", "no", "%s: not permitted (needs CAP_PERFMON, or root%s)",
			what, note);
		set_fix(c, "%s%s", h->paranoid > 2 ? "sysctl kernel.perf_event_paranoid=2, or " : "",
			h->container ? "docker run --cap-add PERFMON" : "grant CAP_PERFMON, or run as root");
		if (h->seccomp == 2)
			append(c->fix, sizeof(c->fix), "; a seccomp profile that allows perf_event_open");
		return;
	}
	if (t->perf == ENOSYS || t->perf == ENOENT || t->perf == ENODEV) {
		c = add("perf events", "no", "%s: %s (a kernel without CONFIG_PERF_EVENTS?)", what,
			strerror(t->perf));
		set_fix(c, "a kernel with CONFIG_PERF_EVENTS=y");
		return;
	}
	add("perf events", "unknown", "%s: %s", what, strerror(t->perf));
}

/* Why ptrace may be refused here, as "; a; b" for a detail line. */
static void ptrace_reasons(const struct host *h, bool to_parent, char *buf, size_t size)
{
	buf[0] = 0;
	if (h->tracer_pid > 0)
		append(buf, size, "; filspy is itself traced by pid %d (a debugger or strace), %s",
		       h->tracer_pid, to_parent ? "and a process has one tracer at most" :
		       "which may have taken the child first (strace -f)");
	if (h->seccomp == 2)
		append(buf, size, "; a seccomp filter is installed");
	if (h->yama == 3)
		append(buf, size, "; kernel.yama.ptrace_scope=3 forbids every attach");
	else if (h->yama == 2 && !has_cap(h, CAP_SYS_PTRACE_BIT))
		append(buf, size, "; kernel.yama.ptrace_scope=2 wants CAP_SYS_PTRACE");
	if (h->caps_known && !has_cap(h, CAP_SYS_PTRACE_BIT) && h->container)
		append(buf, size, "; no CAP_SYS_PTRACE in this container");
}

static void ptrace_fix(const struct host *h, struct check *c)
{
	set_fix(c, "%s%s", h->tracer_pid > 0 ? "run filspy doctor outside the debugger; " : "",
		h->container ? "docker run --cap-add SYS_PTRACE" : "run as root or with CAP_SYS_PTRACE");
	if (h->yama == 2)
		append(c->fix, sizeof(c->fix), "; sysctl kernel.yama.ptrace_scope=1");
	else if (h->yama == 3)
		append(c->fix, sizeof(c->fix), "; kernel.yama.ptrace_scope=3 holds until a reboot: "
		       "set 1 in /etc/sysctl.d");
	if (h->container || h->seccomp == 2)
		append(c->fix, sizeof(c->fix), "; seccomp: --security-opt seccomp=unconfined, or a "
		       "profile that allows ptrace and process_vm_readv");
}

static void check_ptrace(const struct host *h, const struct trials *t)
{
	char why[TEXT / 2];
	struct check *c;
	if (!t->trace_child) {
		add("ptrace of a child", "ok", "filspy attaches (PTRACE_SEIZE) to a child of its own");
	} else {
		ptrace_reasons(h, false, why, sizeof(why));
		c = add("ptrace of a child", "no", "attaching (PTRACE_SEIZE) to a child of its own: "
			"%s%s", strerror(t->trace_child), why);
		ptrace_fix(h, c);
	}
	if (!t->trace_parent) {
		add("ptrace by a child", "ok", "a child granted PR_SET_PTRACER attaches (PTRACE_SEIZE) "
		    "to filspy, as the pyspy backend needs");
		return;
	}
	if (t->trace_parent == ETIMEDOUT) {
		add("ptrace by a child", "unknown", "the child trying to attach to filspy did not "
		    "answer within %d s", CHILD_TIMEOUT_MS / 1000);
		return;
	}
	ptrace_reasons(h, true, why, sizeof(why));
	c = add("ptrace by a child", "no", "a child granted PR_SET_PTRACER cannot attach to filspy: "
		"%s%s", strerror(t->trace_parent), why);
	ptrace_fix(h, c);
}

static void check_yama(const struct host *h)
{
	static const char *const meaning[] = {
		"classic: any process of the same user",
		"restricted: descendants, or a process granted with PR_SET_PTRACER",
		"admin only: CAP_SYS_PTRACE",
		"no attach at all, until a reboot",
	};
	struct check *c;
	if (h->yama < 0) {
		add("Yama ptrace_scope", "ok", "not present: the classic ptrace rules apply");
		return;
	}
	const char *m = h->yama <= 3 ? meaning[h->yama] : "unknown value";
	if (h->yama <= 1 || (h->yama == 2 && has_cap(h, CAP_SYS_PTRACE_BIT))) {
		add("Yama ptrace_scope", "ok", "kernel.yama.ptrace_scope=%d (%s)", h->yama, m);
		return;
	}
	c = add("Yama ptrace_scope", "no", "kernel.yama.ptrace_scope=%d (%s)", h->yama, m);
	if (h->yama == 2)
		set_fix(c, "sysctl kernel.yama.ptrace_scope=1, or CAP_SYS_PTRACE");
	else
		set_fix(c, "set kernel.yama.ptrace_scope=1 in /etc/sysctl.d and reboot");
}

static const struct {
	int bit;
	const char *name;
} wanted_caps[] = {
	{ CAP_SYS_PTRACE_BIT, "CAP_SYS_PTRACE" },
	{ CAP_SYS_ADMIN_BIT, "CAP_SYS_ADMIN" },
	{ CAP_PERFMON_BIT, "CAP_PERFMON" },
	{ CAP_BPF_BIT, "CAP_BPF" },
};
#define N_WANTED_CAPS (sizeof(wanted_caps) / sizeof(*wanted_caps))

/* Informational: the trials, not the capabilities, decide what works. */
static void check_caps(const struct host *h)
{
	if (!h->caps_known) {
		add("capabilities", "unknown", "no CapEff in /proc/self/status");
		return;
	}
	char has[96] = "", lacks[96] = "";
	for (size_t i = 0; i < N_WANTED_CAPS; i++) {
		char *list = has_cap(h, wanted_caps[i].bit) ? has : lacks;
		append(list, sizeof(has), "%s%s", list[0] ? " " : "", wanted_caps[i].name);
	}
	char where[96];
	if (h->container)
		snprintf(where, sizeof(where), "in a container (%s)", h->container);
	else
		snprintf(where, sizeof(where), "not in a container");
	if (!lacks[0])
		add("capabilities", "ok", "effective: %s; %s", has, where);
	else if (!has[0])
		add("capabilities", "ok", "effective: none of %s; %s", lacks, where);
	else
		add("capabilities", "ok", "effective: %s (not %s); %s", has, lacks, where);
}

static void check_seccomp(const struct host *h, const struct trials *t)
{
	struct check *c;
	if (h->seccomp < 0) {
		add("seccomp", "unknown", "no Seccomp field in /proc/self/status");
		return;
	}
	if (h->seccomp == 0) {
		add("seccomp", "ok", "no filter");
		return;
	}
	if (h->seccomp == 1) {
		c = add("seccomp", "no", "strict mode: only read, write, exit and sigreturn");
		set_fix(c, "run filspy outside the strict-mode sandbox");
		return;
	}
	char count[32] = "";
	if (h->seccomp_filters > 0)
		snprintf(count, sizeof(count), " (%d)", h->seccomp_filters);
	if (!t->bpf && !t->perf && !t->trace_child && !t->trace_parent && !t->vm_readv) {
		add("seccomp", "ok", "a filter is installed%s; it let every trial above through", count);
		return;
	}
	/* the filter may or may not be what refused: capabilities refuse with EPERM too */
	c = add("seccomp", "unknown", "a filter is installed%s; it may be what refuses the trials "
		"that failed", count);
	set_fix(c, "%s", h->container ? "docker run --security-opt seccomp=unconfined, or a profile "
		"that allows ptrace, process_vm_readv, bpf and perf_event_open" :
		"a seccomp profile that allows ptrace, process_vm_readv, bpf and perf_event_open");
}

static void check_vm_readv(const struct host *h, const struct trials *t)
{
	struct check *c;
	if (!t->vm_readv) {
		add("process_vm_readv", "ok", "reading its own memory works: all the self backend needs");
		return;
	}
	if (t->vm_readv == ENOSYS) {
		c = add("process_vm_readv", "no", "the kernel lacks it (CONFIG_CROSS_MEMORY_ATTACH)");
		set_fix(c, "a kernel with CONFIG_CROSS_MEMORY_ATTACH=y");
		return;
	}
	c = add("process_vm_readv", "no", "reading its own memory fails: %s%s", strerror(t->vm_readv),
		h->seccomp == 2 ? " (a seccomp filter is installed)" : "");
	set_fix(c, "%s", h->container ? "docker run --security-opt seccomp=unconfined, or a profile "
		"that allows process_vm_readv" : "a seccomp profile that allows process_vm_readv");
}

/* The pyspy backend takes py-spy 0.3 or newer (agent/backend_pyspy.c). */
static void check_pyspy(void)
{
	char path[PATH_MAX], out[128], why[96], looked[1024];
	struct check *c;
	int err = pyspy_path__find(getenv("FIL_PERF_SPY_PYSPY"), path, sizeof(path), looked,
				   sizeof(looked));
	if (err) {
		c = add("py-spy", "no", "%s (looked %s)", err == -ENOENT ? "not found" : strerror(-err),
			looked);
		set_fix(c, "pip install py-spy, or set FIL_PERF_SPY_PYSPY to its path");
		return;
	}
	char *argv[] = { path, "--version", NULL };
	int rc = run_capture(argv, out, sizeof(out));
	int major = -1, minor = -1;
	if (!run_ok(rc) || sscanf(out, "py-spy %d.%d", &major, &minor) != 2) {
		c = add("py-spy", "no", "%s --version %s", path,
			run_ok(rc) ? "does not say py-spy X.Y" : run_failure(rc, why, sizeof(why)));
		set_fix(c, "check that %s is py-spy, or pip install --force-reinstall py-spy", path);
		return;
	}
	if (major == 0 && minor < 3) {
		c = add("py-spy", "no", "%s: %s is older than 0.3", path, out);
		set_fix(c, "pip install -U py-spy");
		return;
	}
	add("py-spy", "ok", "%s: %s", path, out);
}

/* ---- interpreters ---- */

static const char *support_of(const char *version, bool free_threaded)
{
	int major = 0, minor = 0;
	if (sscanf(version, "%d.%d", &major, &minor) != 2)
		return "unknown";
	if (major != 3 || minor < 6)
		return "no";
	if (free_threaded)
		return "no (free-threaded build)";
	if (minor <= 13)
		return "yes";
	return "via _Py_DebugOffsets (untested)";
}

/* Whether path is an ELF file: pyenv's shims and other wrappers are scripts. */
static bool is_elf(const char *path)
{
	char magic[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool elf = read(fd, magic, 4) == 4 && !memcmp(magic, "\x7f" "ELF", 4);
	close(fd);
	return elf;
}

/* Runs the interpreter: its version, whether libpython is mapped into it (a
 * shared build) and whether it is free-threaded. -I -S: no site, no PYTHON*. */
static void probe_python(struct python *py)
{
	static const char code[] =
		"import sys;print(\"%d.%d.%d\"%sys.version_info[:3],"
		"int(\"libpython\" in open(\"/proc/self/maps\").read()),"
		"int(\"t\" in getattr(sys,\"abiflags\",\"\")))";
	char *argv[] = { py->path, "-I", "-S", "-c", (char *)code, NULL };
	char out[128], version[32], why[80];
	py->note[0] = 0;
	int shared = -1, free_threaded = 0;
	int rc = run_capture(argv, out, sizeof(out));
	if (run_ok(rc) && sscanf(out, "%31s %d %d", version, &shared, &free_threaded) == 3 &&
	    version[0] == '3') {
		snprintf(py->version, sizeof(py->version), "%s", version);
		py->shared = shared;
		py->supported = support_of(version, free_threaded);
		return;
	}
	snprintf(py->version, sizeof(py->version), "unknown");
	py->shared = -1;
	py->supported = "unknown";
	snprintf(py->note, sizeof(py->note), "%s", run_ok(rc) ? "printed something unexpected" :
		 run_failure(rc, why, sizeof(why)));
}

static void add_python(const char *path)
{
	struct stat st;
	if (n_pythons == MAX_PYTHONS || stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(path, X_OK) < 0)
		return;
	/* one file under several names (python3, python3.11, a hard link) is one interpreter */
	for (int i = 0; i < n_pythons; i++)
		if (pythons[i].dev == st.st_dev && pythons[i].ino == st.st_ino)
			return;
	struct python *py = &pythons[n_pythons];
	if (!realpath(path, py->path) || !is_elf(py->path))
		return;
	py->dev = st.st_dev;
	py->ino = st.st_ino;
	probe_python(py);
	n_pythons++;
}

static void add_on_path(const char *name)
{
	char path[PATH_MAX];
	if (which(name, path, sizeof(path)) == 0)
		add_python(path);
}

/* python3, python3.N or python3.Nt (free-threaded); not python3.N-config. */
static bool python_name(const char *name)
{
	if (strncmp(name, "python3", 7))
		return false;
	name += 7;
	if (!*name)
		return true;
	if (*name++ != '.' || !(*name >= '0' && *name <= '9'))
		return false;
	name += strspn(name, "0123456789");
	return !*name || !strcmp(name, "t");
}

static void add_glob(const char *pattern)
{
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0)
		return;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *slash = strrchr(g.gl_pathv[i], '/');
		if (python_name(slash ? slash + 1 : g.gl_pathv[i]))
			add_python(g.gl_pathv[i]);
	}
	globfree(&g);
}

/* path with glob's special characters escaped, so a directory is taken as named. */
static void glob_escape(const char *path, char *out, size_t size)
{
	size_t at = 0;
	for (; *path && at + 2 < size; path++) {
		if (strchr("\\*?[", *path))
			out[at++] = '\\';
		out[at++] = *path;
	}
	out[at] = 0;
}

static void pyenv_root(char *out, size_t size)
{
	const char *root = getenv("PYENV_ROOT");
	const char *home = getenv("HOME");
	if (root && *root) {
		snprintf(out, size, "%s", root);
		return;
	}
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	snprintf(out, size, "%s/.pyenv", home);
}

static int by_version(const void *a, const void *b)
{
	const struct python *x = a, *y = b;
	/* an unknown version sorts last */
	int vx[3] = { INT_MAX, INT_MAX, INT_MAX }, vy[3] = { INT_MAX, INT_MAX, INT_MAX };
	sscanf(x->version, "%d.%d.%d", &vx[0], &vx[1], &vx[2]);
	sscanf(y->version, "%d.%d.%d", &vy[0], &vy[1], &vy[2]);
	for (int i = 0; i < 3; i++)
		if (vx[i] != vy[i])
			return vx[i] < vy[i] ? -1 : 1;
	return strcmp(x->path, y->path);
}

static void find_pythons(void)
{
	char root[PATH_MAX], escaped[2 * PATH_MAX], pattern[2 * PATH_MAX + 64], name[16];
	add_on_path("python3");
	for (int minor = 6; minor <= 14; minor++) {
		snprintf(name, sizeof(name), "python3.%d", minor);
		add_on_path(name);
	}
	pyenv_root(root, sizeof(root));
	glob_escape(root, escaped, sizeof(escaped));
	snprintf(pattern, sizeof(pattern), "%s/versions/*/bin/python3.*", escaped);
	add_glob(pattern);
	add_glob("/usr/bin/python3*");
	qsort(pythons, (size_t)n_pythons, sizeof(*pythons), by_version);
}

/* What the sched_switch program needs beyond the perf-event one: the raw
 * tracepoint's prev_state argument (Linux 5.18) and kernel BTF for the thread's
 * saved registers (bpf_task_pt_regs). No tracefs: it attaches by name. */
static void set_off_cpu_fix(struct check *c)
{
	const char *meanwhile = "; meanwhile FIL_PERF_SPY_BACKEND=self gives idle threads and the "
				"GIL view";
	struct utsname u;
	int major = 0, minor = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%d.%d", &major, &minor);
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		set_fix(c, "a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are): the program "
			"reads a thread's saved registers through it%s", meanwhile);
	else if (major < 5 || (major == 5 && minor < 18))
		set_fix(c, "Linux 5.18 or newer (Debian 12's backports kernel): its sched_switch "
			"tracepoint passes prev_state to BPF%s", meanwhile);
	else
		set_fix(c, "FIL_PERF_SPY_DEBUG=1 FIL_PERF_SPY_BACKEND=bpf FIL_PERF_SPY_IDLE=1 on a "
			"program shows libbpf's whole reason%s", meanwhile);
}

/* The real thing: libfilspy-bpf.so next to libfilspy.so loads the backend's own
 * program (the verifier of this kernel checks it) and attaches it to every CPU
 * for a moment, with a plan that matches no process; then again with its
 * sched_switch program. */
static void try_bpf_programs(void)
{
	char lib[PATH_MAX], why[512];
	const char *name = "bpf program";
	if (cli__find_library(lib, sizeof(lib)) < 0) {
		struct check *c = add(name, "no", "libfilspy.so is not found next to filspy");
		set_fix(c, "make, or make install");
		return;
	}
	char *slash = strrchr(lib, '/');
	snprintf(slash ? slash + 1 : lib, sizeof(lib) - (size_t)(slash ? slash + 1 - lib : 0),
		 "libfilspy-bpf.so");
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		struct check *c = add(name, "no", "%s cannot be loaded: %s", lib, dlerror());
		set_fix(c, "make (it needs libbpf1), or install libbpf1");
		return;
	}
	const fsbpf_interface_t *api = dlsym(h, FSBPF_INTERFACE_SYMBOL);
	if (!api || api->version != FSBPF_INTERFACE_VERSION) {
		add(name, "no", "%s is from another filspy build", lib);
		dlclose(h);
		return;
	}
	struct fsbpf_plan plan = { .tgid = UINT32_MAX, .tstate_frame = 0, .cframe_current_frame = -1,
				   .cframe_previous = -1, .frame_owner = -1,
				   .frame_owner_cstack = -1, .frame_size = 72, .code_tag_mask = ~0ULL };
	fsbpf_session *session = api->open(&plan, 100, 0, why, sizeof(why));
	if (!session) {
		add(name, "no", "%s", why);
		dlclose(h);
		return;
	}
	add(name, "ok", "the bpf backend's program loads, passes this kernel's verifier "
	    "and attaches to every CPU");
	api->close(session);
	/* idle threads and the GIL view add a sched_switch program */
	session = api->open(&plan, 100, 1, why, sizeof(why));
	if (session) {
		add("bpf off-CPU", "ok", "its sched_switch program loads and attaches: "
		    "FIL_PERF_SPY_IDLE and the GIL view can use bpf");
		api->close(session);
	} else {
		set_off_cpu_fix(add("bpf off-CPU", "no", "%s", why));
	}
	dlclose(h);
}

static void check_bpf_program(void)
{
	try_bpf_programs();
	if (!is_ok("bpf program"))
		add("bpf off-CPU", "no", "it needs the bpf program, which does not load here");
}

/* ---- the summary ---- */

/* What `auto` would choose, in agent/sampler.c's order: bpf, pyspy, self. */
static const char *auto_backend(char *why, size_t size)
{
	why[0] = 0;
	if (is_ok("bpf program")) {
		snprintf(why, size, "its program loads and attaches here");
		return "bpf";
	}
	append(why, size, "bpf: %s; ", is_ok("BPF permission") && is_ok("perf events")
	       ? "its program does not load (see `bpf program`)" : "the host refuses it");
	bool pyspy = is_ok("py-spy"), traced = is_ok("ptrace by a child");
	if (pyspy && traced) {
		append(why, size, "py-spy is found and a child may ptrace the program");
		return "pyspy";
	}
	append(why, size, "pyspy: %s; ", !pyspy ? "py-spy is not found or does not run" :
	       "a child may not ptrace the program");
	if (is_ok("process_vm_readv")) {
		append(why, size, "self reads the interpreter's memory with process_vm_readv");
		return "self";
	}
	append(why, size, "self: process_vm_readv is refused");
	return "none";
}

/* ---- output ---- */

/* Length of the valid UTF-8 sequence at s, 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	unsigned c = s[0], min;
	int n;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2, min = 0x80, c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, min = 0x800, c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0;
	}
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string: quotes, backslashes and control characters escaped; bytes that
 * are not UTF-8 (a path may hold any) become U+FFFD, so the output always parses. */
static void put_json_string(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	putchar('"');
	while (*s) {
		int n = utf8_len(s);
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", *s);
		else if (!n)
			fputs("\\ufffd", stdout);
		else
			fwrite(s, 1, (size_t)n, stdout);
		s += n ? n : 1;
	}
	putchar('"');
}

static void put_json_field(const char *key, const char *value, bool first)
{
	printf("%s\"%s\": ", first ? "" : ", ", key);
	put_json_string(value);
}

static void print_json(const struct host *h, const char *backend, const char *why)
{
	printf("{\"checks\": [");
	for (int i = 0; i < n_checks; i++) {
		printf("%s{", i ? ", " : "");
		put_json_field("name", checks[i].name, true);
		put_json_field("status", checks[i].status, false);
		put_json_field("detail", checks[i].detail, false);
		put_json_field("fix", checks[i].fix, false);
		putchar('}');
	}
	printf("], ");
	put_json_field("auto_backend", backend, true);
	put_json_field("auto_why", why, false);
	printf(", \"capabilities\": [");
	for (size_t i = 0, n = 0; h->caps_known && i < N_WANTED_CAPS; i++)
		if (has_cap(h, wanted_caps[i].bit)) {
			printf("%s", n++ ? ", " : "");
			put_json_string(wanted_caps[i].name);
		}
	printf("], \"container\": %s", h->container ? "true" : "false");
	printf(", \"interpreters\": [");
	for (int i = 0; i < n_pythons; i++) {
		const struct python *py = &pythons[i];
		printf("%s{", i ? ", " : "");
		put_json_field("path", py->path, true);
		put_json_field("version", py->version, false);
		put_json_field("supported", py->supported, false);
		put_json_field("note", py->note, false);
		printf(", \"shared\": %s}", py->shared < 0 ? "null" : py->shared ? "true" : "false");
	}
	printf("]}\n");
}

/* s with control characters (a newline in a path) as '?', for the table. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

static int widest_name(void)
{
	int w = (int)strlen("CHECK");
	for (int i = 0; i < n_checks; i++)
		if ((int)strlen(checks[i].name) > w)
			w = (int)strlen(checks[i].name);
	return w;
}

static void print_checks(void)
{
	int w = widest_name();
	char buf[TEXT];
	printf("  %-*s  %-7s  %s\n", w, "CHECK", "STATUS", "DETAIL");
	for (int i = 0; i < n_checks; i++) {
		printf("  %-*s  %-7s  %s\n", w, checks[i].name, checks[i].status,
		       printable(checks[i].detail, buf, sizeof(buf)));
		if (checks[i].fix[0])
			printf("  %-*s  %-7s  fix: %s\n", w, "", "",
			       printable(checks[i].fix, buf, sizeof(buf)));
	}
}

static const char *build_of(const struct python *py)
{
	return py->shared < 0 ? "unknown" : py->shared ? "shared" : "static";
}

static void print_pythons(void)
{
	int w = (int)strlen("SUPPORTED");
	for (int i = 0; i < n_pythons; i++)
		if ((int)strlen(pythons[i].supported) > w)
			w = (int)strlen(pythons[i].supported);
	printf("CPython interpreters:\n");
	if (!n_pythons) {
		printf("  none found on PATH, under pyenv or in /usr/bin\n");
		return;
	}
	char buf[PATH_MAX];
	printf("  %-8s  %-7s  %-*s  %s\n", "VERSION", "BUILD", w, "SUPPORTED", "PATH");
	for (int i = 0; i < n_pythons; i++) {
		const struct python *py = &pythons[i];
		printf("  %-8s  %-7s  %-*s  %s%s%s%s\n", py->version, build_of(py), w, py->supported,
		       printable(py->path, buf, sizeof(buf)), py->note[0] ? " (" : "", py->note,
		       py->note[0] ? ")" : "");
	}
}

static void print_table(const char *backend, const char *why)
{
	printf("filspy doctor: what this host allows each backend, found by trying\n\n");
	print_checks();
	printf("\n");
	print_pythons();
	printf("\nauto backend here: %s (%s)\n", backend, why);
}

/* 1 to go on, 0 when done (help), -1 on bad usage. */
static int parse_args(int argc, char **argv, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: filspy doctor [--json]\n");
			return 0;
		} else {
			fs_error("doctor: unknown option %s (usage: filspy doctor [--json])", argv[i]);
			return -1;
		}
	}
	return 1;
}

int doctor__main(int argc, char **argv)
{
	bool json = false;
	int go = parse_args(argc, argv, &json);
	if (go <= 0)
		return go < 0 ? EXIT_USAGE : 0;
	handle_signals();
	struct host h;
	struct trials t;
	read_host(&h);
	run_trials(&t);
	n_checks = n_pythons = 0;
	check_kernel(&h);
	check_btf();
	check_bpf(&h, &t);
	check_perf(&h, &t);
	check_bpf_program();
	check_ptrace(&h, &t);
	check_yama(&h);
	check_caps(&h);
	check_seccomp(&h, &t);
	check_vm_readv(&h, &t);
	check_pyspy();
	find_pythons();
	char why[TEXT];
	const char *backend = auto_backend(why, sizeof(why));
	if (json)
		print_json(&h, backend, why);
	else
		print_table(backend, why);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fs_error("doctor: cannot write the report: %s", strerror(errno));
		return 1;
	}
	return 0;
}
