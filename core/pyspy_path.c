/* Finding py-spy: FIL_PERF_SPY_PYSPY, PATH, then the copy installed beside filspy
 * (make install, the build tree, the wheel's scripts folder). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/pyspy_path.h"
#include "filspy/spawn.h"

/* The folder of the file this code is linked into: libfilspy.so in a program
 * (dladdr), the filspy command itself (dladdr names the main program by its
 * argv[0], which may have no '/': /proc/self/exe then). */
static int own_folder(char *out, size_t size)
{
	Dl_info self;
	const char *file = NULL;
	char exe[PATH_MAX];
	if (dladdr((void *)&own_folder, &self) && self.dli_fname && strchr(self.dli_fname, '/'))
		file = self.dli_fname;
	if (!file) {
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n <= 0)
			return -1;
		exe[n] = '\0';
		file = exe;
	}
	const char *slash = strrchr(file, '/');
	if ((size_t)(slash - file) >= size)
		return -1;
	snprintf(out, size, "%.*s", (int)(slash - file), file);
	return 0;
}

/* The wheel's layout: PREFIX/lib/pythonX.Y/site-packages/filspy/_lib holds the agent
 * and the command, PREFIX/bin the scripts, where pip puts the py-spy of the
 * filspy[pyspy] extra (a venv, --user's ~/.local, /usr/local). */
static int wheel_scripts(const char *folder, char *out, size_t size)
{
	static const char tail[] = "/filspy/_lib";
	size_t n = strlen(folder);
	if (n < sizeof(tail) || strcmp(folder + n - (sizeof(tail) - 1), tail))
		return snprintf(out, size, "%s", "");
	int up = 0;
	while (n > 0 && up < 5)
		up += folder[--n] == '/';
	if (up < 5)
		return snprintf(out, size, "%s", "");
	return snprintf(out, size, "%.*s/bin/py-spy", (int)n, folder);
}

/* Beside that folder F (its parent P): F/filspy/py-spy and P/lib/filspy/py-spy for
 * `make install` ($PREFIX/lib holds the agent, $PREFIX/bin the command), F/tools
 * and P/tools for the build tree (build/ holds both, build/asan/ the sanitized
 * agent), and first the scripts folder of the wheel's installation (empty
 * elsewhere). */
static int candidate(int i, const char *folder, const char *parent, char *out, size_t size)
{
	switch (i) {
	case 0: return wheel_scripts(folder, out, size); /* first: messages keep it */
	case 1: return snprintf(out, size, "%s/filspy/py-spy", folder);
	case 2: return snprintf(out, size, "%s/lib/filspy/py-spy", parent);
	case 3: return snprintf(out, size, "%s/tools/py-spy/bin/py-spy", folder);
	case 4: return snprintf(out, size, "%s/tools/py-spy/bin/py-spy", parent);
	default: return -1;
	}
}
#define CANDIDATES 5

int pyspy_path__find(const char *configured, char *out, size_t size, char *looked,
		     size_t looked_size)
{
	if (configured && *configured) {
		snprintf(looked, looked_size, "for FIL_PERF_SPY_PYSPY=%s", configured);
		return spawn__which(configured, out, size);
	}
	int err = spawn__which("py-spy", out, size);
	if (err == 0)
		return 0;
	size_t used = (size_t)snprintf(looked, looked_size, "on PATH");
	char file[PATH_MAX], folder[PATH_MAX], parent[PATH_MAX];
	if (own_folder(file, sizeof(file)) < 0 || !realpath(file, folder))
		return err;
	snprintf(parent, sizeof(parent), "%s", folder);
	char *slash = strrchr(parent, '/');
	if (slash)
		*(slash == parent ? slash + 1 : slash) = '\0';
	char paths[CANDIDATES][PATH_MAX + 32];
	for (int i = 0; i < CANDIDATES; i++) {
		candidate(i, folder, parent, paths[i], sizeof(paths[i]));
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= strcmp(paths[i], paths[j]) == 0;
		if (seen || !paths[i][0])
			continue;
		if (access(paths[i], X_OK) == 0) {
			snprintf(out, size, "%s", paths[i]);
			return 0;
		}
		if (errno == EACCES)
			err = -EACCES;
		if (used < looked_size)
			used += (size_t)snprintf(looked + used, looked_size - used, ", %s", paths[i]);
	}
	return err;
}
