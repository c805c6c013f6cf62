/* The CPython-version module: finds the interpreter in this process, learns its
 * version and hands out the offsets and formats every backend reads with. */
#ifndef FILSPY_PYRUNTIME_H
#define FILSPY_PYRUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filspy/pyoffsets.h"

enum lt_format; /* agent/linetable.h */

typedef struct py_runtime {
	uintptr_t runtime;      /* &_PyRuntime */
	int major, minor, micro;
	const py_offsets *off;
	int linetable_format;   /* enum lt_format */
	bool lasti_in_units;    /* 3.10: f_lasti counts code units, not bytes */
	uintptr_t code_tag_mask;/* 3.14: f_executable is a tagged _PyStackRef */
	const char *offsets_source; /* "the built-in table" or "_Py_DebugOffsets" */
	/* 3.6 only: accessors where later versions have _PyRuntime fields */
	uintptr_t (*interpreters_head_fn)(void);
	int (*is_initialized_fn)(void);
	uintptr_t finalizing_var;
} py_runtime;

/* True when this process holds a CPython interpreter (libpython loaded or the
 * executable exports it). Cheap enough for the constructor: one dlsym. */
bool pyruntime__present(void);

/* Finds _PyRuntime and the version, and picks the offsets. Returns 0, or a
 * negative errno with *why set to a sentence for the user (-ENOTSUP: a version
 * this build cannot read; -ENOENT: no interpreter). */
int pyruntime__find(py_runtime *rt, const char **why);

/* Reads the runtime's flags. Both return false when the memory cannot be read. */
bool pyruntime__initialized(const py_runtime *rt);
bool pyruntime__finalizing(const py_runtime *rt);

/* The first interpreter of the list, 0 when none or unreadable. */
uintptr_t pyruntime__interpreters_head(const py_runtime *rt);

/* True when the GIL holder can be known for this version. */
bool pyruntime__knows_gil(const py_runtime *rt);

/* Where the GIL of the interpreter at interp keeps its `locked` int and its holder
 * (a PyThreadState pointer), for readers that read them themselves (the bpf
 * program). Returns 0, or -errno when the version's GIL cannot be found. */
int pyruntime__gil_fields(const py_runtime *rt, uintptr_t interp, uintptr_t *locked,
			  uintptr_t *holder);

/* The GIL holder (a PyThreadState address) of the interpreter at interp, or 0 when
 * the GIL is free or unknown. */
uintptr_t pyruntime__gil_holder(const py_runtime *rt, uintptr_t interp);

/* The GIL struct the interpreter at interp uses, its condition variables and
 * mutexes included: sets *start and *size and returns 0, or -1 when this version
 * does not say (3.6) or the memory cannot be read. */
int pyruntime__gil_range(const py_runtime *rt, uintptr_t interp, uintptr_t *start, size_t *size);

#endif
