/* Struct offsets of one CPython minor version: everything a backend needs to walk
 * interpreters, threads, frames, code objects and strings from raw memory. */
#ifndef FILSPY_PYOFFSETS_H
#define FILSPY_PYOFFSETS_H

#include <stdbool.h>
#include <stdint.h>

#define PY_NO_OFFSET (-1)

typedef struct py_offsets {
	int major, minor;

	/* _PyRuntimeState */
	int32_t runtime_initialized;       /* int */
	int32_t runtime_finalizing;        /* PyThreadState *, non-NULL once finalising */
	int32_t runtime_interpreters_head; /* PyInterpreterState * */
	int32_t runtime_gil_locked;        /* <= 3.11: int in _PyRuntime.ceval.gil */
	int32_t runtime_gil_holder;        /* <= 3.11: PyThreadState * */

	/* PyInterpreterState */
	int32_t interp_next;
	int32_t interp_threads_head;
	int32_t interp_gil;                /* >= 3.12: struct _gil_runtime_state * */
	int32_t interp_gil_locked;         /* from _Py_DebugOffsets: the interpreter's own */
	int32_t interp_gil_holder;         /* GIL, embedded at these offsets */
	int32_t gil_locked;                /* >= 3.12: offsets inside that struct */
	int32_t gil_holder;
	/* The GIL struct (struct _gil_runtime_state) as a whole: a thread blocked in a
	 * futex inside it (its cond or mutex) waits for the GIL */
	int32_t runtime_gil;               /* <= 3.11: its offset in _PyRuntime */
	int32_t gil_size;                  /* >= 3.7: its size */

	/* PyThreadState */
	int32_t tstate_next;
	int32_t tstate_interp;
	int32_t tstate_frame;              /* <= 3.10: PyFrameObject *frame */
	int32_t tstate_cframe;             /* 3.11, 3.12: _PyCFrame *cframe */
	int32_t cframe_current_frame;      /* 3.11, 3.12: inside _PyCFrame */
	int32_t cframe_previous;           /* 3.11, 3.12: the C caller's _PyCFrame */
	int32_t tstate_current_frame;      /* >= 3.13: _PyInterpreterFrame * */
	int32_t tstate_thread_id;          /* unsigned long, pthread_self() */
	int32_t tstate_native_thread_id;   /* >= 3.8: kernel tid */
	int32_t tstate_size;

	/* frame: PyFrameObject (<= 3.10) or _PyInterpreterFrame (>= 3.11) */
	int32_t frame_previous;
	int32_t frame_code;
	int32_t frame_instr;               /* <= 3.10: int f_lasti; else a code-unit pointer */
	int32_t frame_owner;               /* >= 3.11: char owner */
	int32_t frame_owner_cstack;        /* owner value of C-stack shim frames, -1 when none */
	int32_t frame_is_entry;            /* 3.11: bool is_entry, the first frame a C call of
					    * the eval loop runs (3.12+ put a shim behind it) */
	int32_t frame_executing;           /* <= 3.10: f_executing / f_state, a char */
	int32_t frame_executing_value;     /* its value while the frame runs */
	int32_t frame_size;                /* bytes to read to have every field above */

	/* PyCodeObject */
	int32_t code_filename;
	int32_t code_name;
	int32_t code_qualname;             /* >= 3.11 */
	int32_t code_linetable;            /* bytes: co_lnotab (<= 3.9) or co_linetable */
	int32_t code_firstlineno;          /* int */
	int32_t code_argcount;             /* int, part of the cache validation */
	int32_t code_code_adaptive;        /* >= 3.11: first code unit inside the object */
	int32_t code_code;                 /* <= 3.10: co_code, the bytes of its code units */
	int32_t code_size;                 /* bytes to read to have every field above */

	/* PyUnicodeObject: PyASCIIObject then PyCompactUnicodeObject headers */
	int32_t unicode_length;
	int32_t unicode_state;
	int32_t unicode_ascii_size;        /* data of compact ASCII strings starts here */
	int32_t unicode_compact_size;      /* data of other compact strings starts here */
	uint32_t unicode_kind_mask;        /* bits of the 32-bit state word */
	uint32_t unicode_compact_mask;
	uint32_t unicode_ascii_mask;

	/* PyBytesObject */
	int32_t bytes_size;
	int32_t bytes_sval;

	/* PyObject */
	int32_t object_type;

	/* What reading threading._active (Python thread names) takes */
	int32_t interp_modules;            /* sys.modules, a dict */
	int32_t module_dict;               /* PyModuleObject.md_dict */
	int32_t type_flags;                /* unsigned long */
	int32_t type_basicsize;
	int32_t type_dictoffset;           /* <= 3.10: where an instance keeps its dict */
	int32_t heaptype_cached_keys;      /* >= 3.11: keys shared by instance values */
	int32_t dict_keys;                 /* PyDictObject.ma_keys */
	int32_t dict_values;               /* PyDictObject.ma_values, split tables */
	int32_t dictkeys_size;             /* <= 3.10: Py_ssize_t dk_size */
	int32_t dictkeys_log2_size;        /* >= 3.11: uint8 */
	int32_t dictkeys_log2_index_bytes; /* >= 3.11: uint8 */
	int32_t dictkeys_kind;             /* >= 3.11: uint8, 0 = general entries */
	int32_t dictkeys_nentries;
	int32_t dictkeys_indices;
	int32_t dictvalues_valid;          /* >= 3.13: uint8, inline values in use */
	int32_t dictvalues_values;         /* the PyObject *[] in PyDictValues */
	int32_t type_flag_inline_values;   /* >= 3.13 */
	int32_t type_flag_managed_dict;    /* >= 3.11 */
	int32_t object_managed_dict;       /* >= 3.11: negative, from the object */
	int32_t long_size;                 /* ob_size, or 3.12+ lv_tag */
	int32_t long_size_shift;           /* digit count = long_size >> this */
	int32_t long_digits;
	int32_t long_digit_bits;

	/* What `filspy dump --locals` reads (agent/cpython/pylocals.c) */
	int32_t frame_localsplus;          /* the frame's local slots, PyObject *[], arguments
					    * first (also an import's module name); read apart:
					    * on 3.6-3.10 beyond frame_size */
	int32_t code_nlocals;              /* int: co_nlocals (<= 3.10), co_nlocalsplus */
	int32_t code_varnames;             /* tuple: co_varnames (<= 3.10), co_localsplusnames */
	int32_t code_localspluskinds;      /* >= 3.11: bytes, a CO_FAST_* kind per slot */
	int32_t tuple_size;
	int32_t tuple_items;
	int32_t type_name;                 /* const char *tp_name */
	int32_t float_value;               /* double ob_fval */
} py_offsets;

/* Returns the table entry for major.minor, or NULL when the table has none. */
const py_offsets *pyoffsets__for_version(int major, int minor);

/* Which CPython versions filspy reads (agent/cpython/versions.c), for the agent,
 * `filspy doctor` and the tests. The tested ones are exactly the rows of the
 * generated table (tests/system/test_versions.py reads the same rows); a later one
 * is read when it describes itself (_Py_DebugOffsets), untested. */
bool pyversions__tested(int major, int minor);
bool pyversions__describes_itself(int major, int minor);
bool pyversions__supported(int major, int minor);

/* Writes the tested 3.x minors, oldest first, to minors[0..max). Returns how many
 * there are (more than max when they did not all fit). */
int pyversions__list(int *minors, int max);

/* 3.13+: fills *out from the _Py_DebugOffsets the interpreter carries at the start of
 * _PyRuntime (cookie, version and section sizes checked). table is the generated
 * entry for the same version or NULL; it only supplies what the debug offsets lack.
 * Returns 0, or -errno with *why set when they are absent or implausible. */
int pydebug_offsets__read(uintptr_t runtime, int minor, const py_offsets *table,
			  py_offsets *out, const char **why);

#endif
