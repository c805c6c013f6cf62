/* What the filspy command's subcommands share: where the agent library is, and
 * whether a process is Python at all. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "cli.h"

int cli__find_library(char *out, size_t size)
{
	const char *forced = getenv("FILSPY_LIBRARY");
	if (forced && *forced) {
		snprintf(out, size, "%s", forced);
		return access(out, R_OK) == 0 ? 0 : -errno;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const candidates[] = { "%s/libfilspy.so", "%s/../lib/libfilspy.so" };
	for (size_t i = 0; i < 2; i++) {
		if (snprintf(out, size, candidates[i], exe) >= (int)size)
			continue;
		if (access(out, R_OK) == 0) {
			char *real = realpath(out, NULL);
			if (real) {
				snprintf(out, size, "%s", real);
				free(real);
			}
			return 0;
		}
	}
	return -ENOENT;
}

bool cli__is_python(long pid, char *program, size_t size)
{
	char path[64], exe[PATH_MAX], line[PATH_MAX + 128];
	snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	const char *base = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	snprintf(program, size, "%s", *base ? base : "?");
	if (n <= 0 || !strncmp(base, "python", 6))
		return true; /* unreadable: let the agent decide */
	snprintf(path, sizeof(path), "/proc/%ld/maps", pid);
	FILE *f = fopen(path, "re");
	bool found = !f;
	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, "/libpython") != NULL;
	if (f)
		fclose(f);
	return found;
}

/* the parent of pid from /proc/PID/stat (after the command's closing paren) */
static long parent_of(long pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = 0;
	char *paren = strrchr(buf, ')');
	long ppid = 0;
	if (!paren || sscanf(paren + 1, " %*c %ld", &ppid) != 1)
		return 0;
	return ppid;
}

int cli__descendants(long pid, long *out, int max)
{
	int n = 0;
	if (max < 1)
		return 0;
	out[n++] = pid;
	/* breadth first: each round adds the children of the processes found so far */
	for (int at = 0; at < n && n < max; at++) {
		DIR *d = opendir("/proc");
		for (struct dirent *e; d && n < max && (e = readdir(d));) {
			char *end;
			long p = strtol(e->d_name, &end, 10);
			if (p > 0 && !*end && parent_of(p) == out[at])
				out[n++] = p;
		}
		if (d)
			closedir(d);
	}
	return n;
}
