/* Where the py-spy that the pyspy backend, attach, dump and doctor run is. */
#ifndef FILSPY_PYSPY_PATH_H
#define FILSPY_PYSPY_PATH_H

#include <stddef.h>

/* The oldest py-spy the pyspy backend takes (0.3), which doctor checks for too. */
#define PYSPY_MIN_MAJOR 0
#define PYSPY_MIN_MINOR 3

/* Finds py-spy. With `configured` set (FIL_PERF_SPY_PYSPY, a name or a path) only
 * that is tried. Otherwise py-spy on PATH, then the one installed beside filspy's
 * own files: $PREFIX/lib/filspy/py-spy (`make install`) or build/tools/py-spy/bin/
 * py-spy (`make deps` in the build tree), found from the folder of the file this
 * code runs in (libfilspy.so or the filspy command). Returns 0 with the path in
 * out, or -ENOENT / -EACCES with `looked` saying where it looked. */
int pyspy_path__find(const char *configured, char *out, size_t size, char *looked,
		     size_t looked_size);

#endif
