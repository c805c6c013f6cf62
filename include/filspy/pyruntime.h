/* The CPython-version module: finds the interpreter in this process, learns its
 * version and hands out the offsets and formats every backend reads with. */
#ifndef FILSPY_PYRUNTIME_H
#define FILSPY_PYRUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filspy/pyoffsets.h"

enum lt_format; /* agent/linetable.h */
struct fsbpf_plan; /* filspy/pystacks.h */

/* How a thread state leads to its innermost frame, the one layout every walker
 * follows (pythreads.c in user space, the bpf program through bpf_plan__make):
 * the pointer at tstate_frame in PyThreadState; on 3.11/3.12 that is a _PyCFrame,
 * whose current_frame is the frame, and the chain from it must pass through the
 * frame of the C caller's _PyCFrame (cframe_previous; see py_thread.must_reach).
 * -1: no _PyCFrame step. */
typedef struct py_frame_chain {
	int32_t tstate_frame;
	int32_t cframe_current_frame;
	int32_t cframe_previous;
} py_frame_chain;

/* Where an object of a type with a managed dict (3.11+) keeps its attributes. */
enum py_managed_dict {
	PY_MANAGED_DICT_ONLY,      /* the slot holds a dict, or nothing (3.13+) */
	PY_MANAGED_VALUES_BEFORE,  /* 3.11: a values array pointer one word before it */
	PY_MANAGED_VALUES_TAGGED,  /* 3.12: the slot holds values tagged with bit 0 */
};

/* Only agent/cpython/ reads major and minor: everything else asks a capability
 * field, and says the version with `version`. */
typedef struct py_runtime {
	uintptr_t runtime;      /* &_PyRuntime */
	int major, minor, micro;
	char version[16];       /* "3.11.7", for messages */
	const py_offsets *off;
	int linetable_format;   /* enum lt_format */
	bool lasti_in_units;    /* 3.10: f_lasti counts code units, not bytes */
	bool instr_is_pointer;  /* 3.11+: a frame holds an instruction pointer into
				 * co_code_adaptive, else the int f_lasti */
	enum py_managed_dict managed_dict;
	py_frame_chain chain;
	uintptr_t code_tag_mask;/* 3.14: f_executable is a tagged _PyStackRef */
	const char *offsets_source; /* "the built-in table" or "_Py_DebugOffsets" */
	/* 3.6 only: accessors where later versions have _PyRuntime fields */
	uintptr_t (*interpreters_head_fn)(void);
	int (*is_initialized_fn)(void);
	uintptr_t finalizing_var;
	/* the finalizing flag's word, once a checked read found it there: it lies in
	 * a static object (_PyRuntime, 3.6's _Py_Finalizing), mapped for good, so a
	 * plain load reads it, a system call less a round; NULL: unreadable, false */
	const uintptr_t *finalizing_word;
	/* the same for the interpreter list's head (a field of _PyRuntime, 3.7+),
	 * and where _PyRuntime ends (0: unknown): 3.11+ keep the main interpreter
	 * inside it, so its words too are plain loads (pythreads__list_mark) */
	const uintptr_t *interpreters_head_word;
	uintptr_t runtime_end;
} py_runtime;

/* True when this process holds a CPython interpreter (libpython loaded or the
 * executable exports it). Cheap enough for the constructor: one dlsym. */
bool pyruntime__present(void);

/* True when that interpreter is already initialized: the agent was dlopened into a
 * running program (by `filspy attach` or the wheel's .pth), not preloaded. */
bool pyruntime__running(void);

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

/* Fills *plan, the bpf program's walk plan for this interpreter (agent/cpython/
 * bpf_plan.c): the frame chain, the frame and code fields, the GIL's addresses;
 * tgid is left 0 for the caller to set. Returns 0, or -ENOTSUP with *why set when
 * the program cannot walk this version's frames. */
int bpf_plan__make(const py_runtime *rt, struct fsbpf_plan *plan, const char **why);

#endif
