/* CPython's import machinery in a stack: each import's run of frames of
 * importlib._bootstrap(_external) becomes one frame `import NAME`. */
#ifndef FILSPY_IMPORTS_H
#define FILSPY_IMPORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "filspy/profile.h"

/* The name of the frame that stands for an unknown module's import. */
#define IMPORTS_UNKNOWN "<module>"

/* True when file (a short file name) is the import machinery: <frozen
 * importlib._bootstrap>, <frozen importlib._bootstrap_external>, or the same modules
 * as files (importlib/_bootstrap.py, importlib/_bootstrap_external.py). */
bool imports__is_machinery(const char *file);

/* True when a machinery frame of function name is the one each import goes
 * through once, whose first argument is the module's name (_find_and_load). */
bool imports__is_find_and_load(const char *name);

/* Rewrites the root-first stack ids[0..n) of p in place and returns its new length:
 * every run of machinery frames becomes one `import NAME` frame per
 * _find_and_load in it (one `import <module>` frame for a run without one).
 * NAME is known[i] for the _find_and_load at i when known is not NULL and
 * known[i] is a module name, else that of the module the run goes on to run
 * (the `<module>` frame after the run: certifi/core.py is certifi.core), else
 * <module>. A frame that cannot be made (out of memory) keeps the run as it was. */
size_t imports__collapse(fs_profile *p, fs_frame_id *ids, size_t n, const char *const *known);

#endif
