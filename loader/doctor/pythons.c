/* The CPython interpreters `filspy doctor` finds (PATH, pyenv, /usr/bin), and
 * whether filspy reads each one. */
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_internal.h"
#include "filspy/spawn.h"
#include "filspy/pyoffsets.h"

#define MAX_PYTHONS 64

static struct python pythons[MAX_PYTHONS];
static int n_pythons;

static const char *support_of(const char *version, bool free_threaded)
{
	int major = 0, minor = 0;
	if (sscanf(version, "%d.%d", &major, &minor) != 2)
		return "unknown";
	/* the agent's own list (agent/cpython/versions.c): the offsets table's rows,
	 * then the versions that describe themselves */
	if (!pyversions__supported(major, minor))
		return "no";
	if (free_threaded)
		return "no (free-threaded build)";
	if (pyversions__tested(major, minor))
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
	int rc = doctor_run__line(argv, out, sizeof(out));
	if (doctor_run__ok(rc) &&
	    sscanf(out, "%31s %d %d", version, &shared, &free_threaded) == 3 && version[0] == '3') {
		snprintf(py->version, sizeof(py->version), "%s", version);
		py->shared = shared;
		py->supported = support_of(version, free_threaded);
		return;
	}
	snprintf(py->version, sizeof(py->version), "unknown");
	py->shared = -1;
	py->supported = "unknown";
	snprintf(py->note, sizeof(py->note), "%s", doctor_run__ok(rc) ?
		 "printed something unexpected" : doctor_run__failure(rc, why, sizeof(why)));
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
	if (spawn__which(name, path, sizeof(path)) == 0)
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

void doctor_pythons__find(void)
{
	char root[PATH_MAX], escaped[2 * PATH_MAX], pattern[2 * PATH_MAX + 64], name[16];
	add_on_path("python3");
	int minors[32];
	int n = pyversions__list(minors, 32);
	/* and the next one, which may read through _Py_DebugOffsets */
	for (int i = 0; i < n + (n > 0) && i < 32; i++) {
		snprintf(name, sizeof(name), "python3.%d", i < n ? minors[i] : minors[n - 1] + 1);
		add_on_path(name);
	}
	pyenv_root(root, sizeof(root));
	glob_escape(root, escaped, sizeof(escaped));
	snprintf(pattern, sizeof(pattern), "%s/versions/*/bin/python3.*", escaped);
	add_glob(pattern);
	add_glob("/usr/bin/python3*");
	qsort(pythons, (size_t)n_pythons, sizeof(*pythons), by_version);
}

const struct python *doctor_pythons__at(int i)
{
	return i >= 0 && i < n_pythons ? &pythons[i] : NULL;
}
