/* Where a profiled process's control socket is (include/filspy/control_protocol.h):
 * named by the process's own effective uid, so that root attaching to another
 * user's process looks where that process's agent listens. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/control_protocol.h"

void control_protocol__dir(unsigned uid, char *out, size_t size)
{
	snprintf(out, size, "/tmp/filspy-%u", uid);
}

void control_protocol__path(unsigned uid, long pid, char *out, size_t size)
{
	snprintf(out, size, "/tmp/filspy-%u/%ld.sock", uid, pid);
}

unsigned control_protocol__uid_of(long pid)
{
	char path[64], line[256];
	unsigned uid = (unsigned)geteuid();
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Uid:", 4))
			sscanf(line + 4, "%*u %u", &uid); /* real, effective, saved, fs */
	if (f)
		fclose(f);
	return uid;
}

int control_protocol__sweep(unsigned uid)
{
	char dir[64], path[64 + 256 + 2];
	control_protocol__dir(uid, dir, sizeof(dir));
	DIR *d = opendir(dir);
	int removed = 0;
	for (struct dirent *e; d && (e = readdir(d));) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (pid <= 0 || strcmp(end, ".sock"))
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive, or someone else's (EPERM) */
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		removed += unlink(path) == 0;
	}
	if (d)
		closedir(d);
	return removed;
}
