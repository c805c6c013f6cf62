/* Short file names as py-spy shows them (agent/cpython/shortpath.c). */
#ifndef FILSPY_SHORTPATH_H
#define FILSPY_SHORTPATH_H

#include <stddef.h>
#include <stdint.h>

/* Short file name as py-spy shows it and the origin (enum fs_origin) of path:
 * site-packages and standard library paths are cut below their root, the program's
 * own files below their top-most package directory. */
void shortpath__make(const char *path, char *out, size_t size, uint8_t *origin);

#endif
