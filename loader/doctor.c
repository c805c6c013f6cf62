/* `filspy doctor`: tries, rather than guesses, what this host allows the bpf,
 * pyspy and self backends, and says how to fix what is refused. */
#include <errno.h>
#include <glob.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"
#include "filspy/log.h"
#include "filspy/spawn.h"

#define MAX_CHECKS 16
#define MAX_PYTHONS 32

struct check {
	const char *name;
	const char *status; /* "ok", "no", "unknown" */
	char detail[400];
	char fix[400];
};

static struct check checks[MAX_CHECKS];
static int n_checks;

static struct check *add(const char *name, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct check *add(const char *name, const char *status, const char *fmt, ...)
{
	struct check *c = &checks[n_checks++];
	c->name = name;
	c->status = status;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->detail, sizeof(c->detail), fmt, ap);
	va_end(ap);
	c->fix[0] = 0;
	return c;
}

static int read_int_file(const char *path, int *out)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int ok = fscanf(f, "%d", out) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

static unsigned long long cap_eff(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	unsigned long long caps = 0;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "CapEff:", 7))
			caps = strtoull(line + 7, NULL, 16);
	if (f)
		fclose(f);
	return caps;
}

static int status_field(const char *field)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	int v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n))
			v = atoi(line + n);
	if (f)
		fclose(f);
	return v;
}

static bool has_cap(int cap)
{
	return cap_eff() >> cap & 1;
}

static bool in_container(void)
{
	if (access("/.dockerenv", F_OK) == 0)
		return true;
	FILE *f = fopen("/proc/1/cgroup", "re");
	char line[512];
	bool found = false;
	while (f && fgets(line, sizeof(line), f))
		found |= strstr(line, "docker") || strstr(line, "containerd") || strstr(line, "kubepods");
	if (f)
		fclose(f);
	return found;
}

static void check_kernel(void)
{
	struct utsname u;
	uname(&u);
	int major = 0, minor = 0;
	sscanf(u.release, "%d.%d", &major, &minor);
	bool ok = major > 5 || (major == 5 && minor >= 8);
	struct check *c = add("kernel", ok ? "ok" : "no", "Linux %s%s", u.release,
			      ok ? "" : " (the bpf backend needs 5.8 or newer)");
	if (!ok)
		snprintf(c->fix, sizeof(c->fix), "a kernel of 5.8 or newer for the bpf backend");
	bool btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	c = add("kernel BTF", btf ? "ok" : "no", "/sys/kernel/btf/vmlinux %s",
		btf ? "is readable" : "is missing (CONFIG_DEBUG_INFO_BTF)");
	if (!btf)
		snprintf(c->fix, sizeof(c->fix), "a kernel built with CONFIG_DEBUG_INFO_BTF=y");
}

static void check_bpf(void)
{
	struct bpf_insn prog[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_PERF_EVENT;
	attr.insns = (unsigned long)prog;
	attr.insn_cnt = 2;
	attr.license = (unsigned long)"GPL";
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	int err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	int unpriv = -1, paranoid = -1;
	read_int_file("/proc/sys/kernel/unprivileged_bpf_disabled", &unpriv);
	read_int_file("/proc/sys/kernel/perf_event_paranoid", &paranoid);
	struct check *c;
	if (!err) {
		c = add("BPF permission", "ok", "a perf-event BPF program loads");
	} else {
		c = add("BPF permission", "no", "loading a perf-event BPF program: %s (needs CAP_BPF and "
			"CAP_PERFMON, or root; kernel.unprivileged_bpf_disabled=%d, "
			"kernel.perf_event_paranoid=%d)", strerror(err), unpriv, paranoid);
		snprintf(c->fix, sizeof(c->fix), "run as root, or grant CAP_BPF and CAP_PERFMON "
			 "(docker run --cap-add BPF --cap-add PERFMON)");
	}
	struct perf_event_attr pe;
	memset(&pe, 0, sizeof(pe));
	pe.size = sizeof(pe);
	pe.type = PERF_TYPE_SOFTWARE;
	pe.config = PERF_COUNT_SW_CPU_CLOCK;
	pe.sample_freq = 100;
	pe.freq = 1;
	pe.disabled = 1;
	fd = (int)syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0);
	err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	c = add("perf events", err ? "no" : "ok", err ? "a CPU-clock event on this process: %s "
		"(kernel.perf_event_paranoid=%d)" : "a CPU-clock event on this process opens%s",
		err ? strerror(err) : "", paranoid);
	if (err)
		snprintf(c->fix, sizeof(c->fix), "sysctl kernel.perf_event_paranoid=2, or CAP_PERFMON");
}

static void check_ptrace(void)
{
	int scope = -1;
	bool yama = read_int_file("/proc/sys/kernel/yama/ptrace_scope", &scope) == 0;
	static const char *const meaning[] = { "classic: any process of the same user",
					       "restricted: descendants, or a PR_SET_PTRACER grant",
					       "admin only: CAP_SYS_PTRACE", "no attach at all" };
	if (yama)
		add("Yama ptrace_scope", scope <= 1 ? "ok" : "no", "kernel.yama.ptrace_scope=%d (%s)",
		    scope, scope >= 0 && scope <= 3 ? meaning[scope] : "unknown");
	else
		add("Yama ptrace_scope", "ok", "kernel.yama.ptrace_scope: not present on this kernel");
	int err = spawn__can_trace_parent();
	struct check *c;
	if (!err) {
		c = add("ptrace by a child", "ok", "a child allowed with PR_SET_PTRACER attaches to "
			"its parent (what the pyspy backend needs)");
		return;
	}
	c = add("ptrace by a child", "no", "a child allowed with PR_SET_PTRACER cannot attach to "
		"its parent: %s", strerror(-err));
	snprintf(c->fix, sizeof(c->fix), "%s%s; a seccomp profile that allows ptrace and "
		 "process_vm_readv",
		 in_container() ? "docker run --cap-add SYS_PTRACE" : "CAP_SYS_PTRACE or root",
		 yama && scope >= 2 ? "; sysctl kernel.yama.ptrace_scope=1" : "");
}

static void check_process(void)
{
	static const struct { int bit; const char *name; } caps[] = {
		{ 19, "CAP_SYS_PTRACE" }, { 21, "CAP_SYS_ADMIN" }, { 38, "CAP_PERFMON" }, { 39, "CAP_BPF" },
	};
	char list[128] = "";
	for (size_t i = 0; i < sizeof(caps) / sizeof(*caps); i++)
		if (has_cap(caps[i].bit)) {
			size_t n = strlen(list);
			snprintf(list + n, sizeof(list) - n, "%s%s", n ? " " : "", caps[i].name);
		}
	add("capabilities", "ok", "effective: %s%s", list[0] ? list : "none of CAP_SYS_PTRACE, "
	    "CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF", in_container() ? " (in a container)" : "");
	int seccomp = status_field("Seccomp:");
	add("seccomp", "ok", "%s", seccomp == 2 ? "a filter is installed (it may refuse ptrace or bpf)"
				   : seccomp == 1 ? "strict mode" : "no filter");
	int local = 42, copy = 0;
	struct iovec l = { &copy, sizeof(copy) }, r = { &local, sizeof(local) };
	ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
	struct check *c = add("process_vm_readv", n == sizeof(copy) && copy == 42 ? "ok" : "no",
			      n == sizeof(copy) ? "reading its own memory works (the self backend "
			      "needs nothing else)" : "reading its own memory fails: %s", strerror(errno));
	if (strcmp(c->status, "ok"))
		snprintf(c->fix, sizeof(c->fix), "a seccomp profile that allows process_vm_readv");
}

static char pyspy_version[64];

static void check_pyspy(void)
{
	const char *want = getenv("FIL_PERF_SPY_PYSPY");
	char path[4096];
	if (!want || !*want)
		want = "py-spy";
	if (spawn__which(want, path, sizeof(path)) < 0) {
		struct check *c = add("py-spy", "no", "%s not found", want);
		snprintf(c->fix, sizeof(c->fix), "pip install py-spy, or set FIL_PERF_SPY_PYSPY");
		return;
	}
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "timeout 5 '%s' --version 2>/dev/null", path);
	FILE *p = popen(cmd, "re");
	if (p) {
		if (!fgets(pyspy_version, sizeof(pyspy_version), p))
			pyspy_version[0] = 0;
		pclose(p);
	}
	pyspy_version[strcspn(pyspy_version, "\n")] = 0;
	add("py-spy", pyspy_version[0] ? "ok" : "no", "%s: %s", path,
	    pyspy_version[0] ? pyspy_version : "does not answer --version");
}

struct python {
	char path[512];
	char version[32];
	const char *supported;
	const char *shared;
};

static struct python pythons[MAX_PYTHONS];
static int n_pythons;

static const char *support_of(const char *version)
{
	int major = 0, minor = 0;
	sscanf(version, "%d.%d", &major, &minor);
	if (major != 3 || minor < 6)
		return "no";
	if (minor <= 13)
		return "yes";
	return "via _Py_DebugOffsets (untested)";
}

static void add_python(const char *path)
{
	char *real = realpath(path, NULL);
	if (!real || n_pythons == MAX_PYTHONS) {
		free(real);
		return;
	}
	for (int i = 0; i < n_pythons; i++)
		if (!strcmp(pythons[i].path, real)) {
			free(real);
			return;
		}
	/* wrappers such as pyenv's shims are scripts: only ELF files are interpreters */
	char magic[4] = "";
	FILE *exe = fopen(real, "re");
	size_t got = exe ? fread(magic, 1, 4, exe) : 0;
	if (exe)
		fclose(exe);
	if (got != 4 || memcmp(magic, "\x7f" "ELF", 4)) {
		free(real);
		return;
	}
	char cmd[1200], out[128] = "";
	/* shared or static: whether a libpython is mapped into the running interpreter */
	snprintf(cmd, sizeof(cmd), "timeout 5 '%s' -c 'import sys; print(\"%%d.%%d.%%d\" "
		 "%% sys.version_info[:3], int(\"libpython\" in open(\"/proc/self/maps\").read()))' "
		 "2>/dev/null", real);
	FILE *p = popen(cmd, "re");
	if (p) {
		if (!fgets(out, sizeof(out), p))
			out[0] = 0;
		pclose(p);
	}
	struct python *py = &pythons[n_pythons];
	char shared[16] = "";
	if (sscanf(out, "%31s %15s", py->version, shared) < 1) {
		free(real);
		return;
	}
	snprintf(py->path, sizeof(py->path), "%s", real);
	py->supported = support_of(py->version);
	py->shared = !strcmp(shared, "1") ? "shared libpython" : "static";
	n_pythons++;
	free(real);
}

static int by_version(const void *a, const void *b)
{
	int x[3] = { 0 }, y[3] = { 0 };
	sscanf(((const struct python *)a)->version, "%d.%d.%d", &x[0], &x[1], &x[2]);
	sscanf(((const struct python *)b)->version, "%d.%d.%d", &y[0], &y[1], &y[2]);
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return strcmp(((const struct python *)a)->path, ((const struct python *)b)->path);
}

static void find_pythons(void)
{
	const char *root = getenv("PYENV_ROOT");
	char pattern[600];
	glob_t g;
	if (root && *root)
		snprintf(pattern, sizeof(pattern), "%s/versions/*/bin/python3.*[0-9]", root);
	else
		snprintf(pattern, sizeof(pattern), "%s/.pyenv/versions/*/bin/python3.*[0-9]",
			 getenv("HOME") ? getenv("HOME") : "/root");
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			add_python(g.gl_pathv[i]);
		globfree(&g);
	}
	if (glob("/usr/bin/python3.[0-9]*", 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			if (!strchr(g.gl_pathv[i] + strlen("/usr/bin/python3."), '-'))
				add_python(g.gl_pathv[i]);
		globfree(&g);
	}
	char path[4096];
	if (spawn__which("python3", path, sizeof(path)) == 0)
		add_python(path);
	qsort(pythons, (size_t)n_pythons, sizeof(*pythons), by_version);
}

static const char *status_of(const char *name)
{
	for (int i = 0; i < n_checks; i++)
		if (!strcmp(checks[i].name, name))
			return checks[i].status;
	return "unknown";
}

static const char *auto_backend(char *why, size_t size)
{
	if (!strcmp(status_of("ptrace by a child"), "ok") && !strcmp(status_of("py-spy"), "ok")) {
		snprintf(why, size, "bpf is not in this build yet; py-spy is found and may ptrace");
		return "pyspy";
	}
	snprintf(why, size, "bpf is not in this build yet; %s",
		 strcmp(status_of("py-spy"), "ok") ? "py-spy is not found" : "ptrace is refused");
	return "self";
}

static void put_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const char *backend, const char *why)
{
	printf("{\"checks\": [");
	for (int i = 0; i < n_checks; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		put_json_string(checks[i].name);
		printf(", \"status\": ");
		put_json_string(checks[i].status);
		printf(", \"detail\": ");
		put_json_string(checks[i].detail);
		printf(", \"fix\": ");
		put_json_string(checks[i].fix);
		putchar('}');
	}
	printf("], \"auto_backend\": ");
	put_json_string(backend);
	printf(", \"auto_why\": ");
	put_json_string(why);
	printf(", \"interpreters\": [");
	for (int i = 0; i < n_pythons; i++) {
		printf("%s{\"path\": ", i ? ", " : "");
		put_json_string(pythons[i].path);
		printf(", \"version\": ");
		put_json_string(pythons[i].version);
		printf(", \"supported\": ");
		put_json_string(pythons[i].supported);
		printf(", \"shared\": %s}", strcmp(pythons[i].shared, "static") ? "true" : "false");
	}
	printf("]}\n");
}

static void print_table(const char *backend, const char *why)
{
	printf("filspy doctor: what this host allows\n\n");
	for (int i = 0; i < n_checks; i++) {
		printf("  %-20s %-4s %s\n", checks[i].name, checks[i].status, checks[i].detail);
		if (checks[i].fix[0])
			printf("  %-20s      fix: %s\n", "", checks[i].fix);
	}
	printf("\nCPython interpreters:\n");
	for (int i = 0; i < n_pythons; i++)
		printf("  %-8s %-18s supported: %-5s %s\n", pythons[i].version, pythons[i].shared,
		       pythons[i].supported, pythons[i].path);
	if (!n_pythons)
		printf("  none found on PATH, under pyenv or in /usr/bin\n");
	printf("\nauto backend here: %s (%s)\n", backend, why);
}

int doctor__main(int argc, char **argv)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: filspy doctor [--json]\n");
			return 0;
		} else {
			fs_error("doctor: unknown option %s (usage: filspy doctor [--json])", argv[i]);
			return 2;
		}
	}
	n_checks = 0;
	n_pythons = 0;
	check_kernel();
	check_bpf();
	check_ptrace();
	check_process();
	check_pyspy();
	find_pythons();
	char why[200];
	const char *backend = auto_backend(why, sizeof(why));
	if (json)
		print_json(backend, why);
	else
		print_table(backend, why);
	return 0;
}
