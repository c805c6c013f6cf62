/* What `filspy doctor` reads of the host: kernel release, sysctls, capabilities,
 * seccomp, a tracer, a container, kernel BTF. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor_internal.h"

const struct doctor_cap doctor_host__caps[] = {
	{ CAP_SYS_PTRACE_BIT, "CAP_SYS_PTRACE" },
	{ CAP_SYS_ADMIN_BIT, "CAP_SYS_ADMIN" },
	{ CAP_PERFMON_BIT, "CAP_PERFMON" },
	{ CAP_BPF_BIT, "CAP_BPF" },
	{ 0, NULL },
};

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

/* Read, not just stat'ed: a container may mask /sys. */
static void read_btf(struct host *h)
{
	unsigned char magic[2];
	int fd = open(DOCTOR_BTF_PATH, O_RDONLY | O_CLOEXEC);
	int err = fd < 0 ? errno : 0;
	ssize_t n = fd < 0 ? -1 : read(fd, magic, sizeof(magic));
	if (fd >= 0 && n < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	h->btf_err = err;
	h->btf_magic = !err && n == 2 && magic[0] == 0x9f && magic[1] == 0xeb;
}

void doctor_host__read(struct host *h)
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
	read_btf(h);
}

bool doctor_host__has_cap(const struct host *h, int bit)
{
	return h->caps >> bit & 1;
}

bool doctor_host__kernel_at_least(const struct host *h, int major, int minor)
{
	return h->kmajor > major || (h->kmajor == major && h->kminor >= minor);
}
