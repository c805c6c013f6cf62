/* Where a profiled process's control socket is (include/filspy/control_protocol.h):
 * named by the process's own effective uid, so that root attaching to another
 * user's process looks where that process's agent listens. */
#include <stdio.h>
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
