/* Code objects -> names, files and line tables, cached by address and checked on
 * every use so that a freed and reused address is never misnamed. */
#ifndef FILSPY_SYMCACHE_H
#define FILSPY_SYMCACHE_H

#include <stdint.h>

#include "filspy/pystack.h"

/* Whether a code object is CPython's import machinery (imports__is_machinery) and
 * the frame that names the module each import loads (imports__is_find_and_load) */
enum sym_import_role { SYM_IMPORT_NONE, SYM_IMPORT_MACHINERY, SYM_IMPORT_FIND_AND_LOAD };

#define SYM_PRINT_MAX 48

typedef struct sym_entry {
	uint64_t key;          /* hash of name and file: stable across re-resolution */
	uintptr_t code;
	const char *name;      /* qualified name where the version has one */
	const char *file;      /* short file name (see shortpath__make) */
	uint8_t origin;        /* enum fs_origin */
	uint8_t import_role;   /* enum sym_import_role (filspy/imports.h) */
	int firstlineno;
	const uint8_t *table;  /* copy of the line table */
	uint32_t table_len;
	/* what the code object held when resolved; all must match to reuse the entry */
	uintptr_t check_name, check_file, check_table;
	int check_argcount;
	/* and the name string's own bytes (length, hash, state, the first of its
	 * text): a code object freed and replaced at its address by one made from
	 * the same template can have its name, file and line table at the old
	 * addresses too, with other text in them */
	uint8_t print_len;
	unsigned char print[SYM_PRINT_MAX];
} sym_entry;

typedef struct symcache symcache;

/* Returns a new cache for rt (which must outlive it), or NULL when out of memory. */
symcache *symcache__new(const py_runtime *rt);

/* With full, entries resolved from now on keep their code's whole file path
 * (FIL_PERF_SPY_FULL_FILENAMES) instead of the part from the package on. */
void symcache__full_paths(symcache *c, bool full);
void symcache__free(symcache *c);

/* Resolves the code object of each of the n frames (one batched copy of their
 * headers and of the name strings their cached entries expect, more copies only
 * for code objects not yet cached or changed). For frames read just now: a code
 * object freed since is not looked at as the one it was; one that is no code
 * object any more takes the entry cached for its address (what it held when the
 * frame ran). out[i] is NULL when frame i's code is neither a readable code object
 * nor cached. Entries stay valid until the next call. */
void symcache__resolve(symcache *c, const py_frame_ref *frames, int n, const sym_entry **out);

/* The same without the name strings' check (with checks; NULL checks: as
 * symcache__resolve), and where a code object cannot be read any more (freed since the
 * sample: a stop off the CPU is resolved when the thread runs again, and at the
 * end the interpreter frees its code) takes the cached entry for its address if
 * the sample's check word (checks[i]: the low 32 bits of its name pointer when
 * sampled, 0 for unknown) matches it. */
void symcache__resolve_checked(symcache *c, const py_frame_ref *frames, const uint32_t *checks,
			       int n, const sym_entry **out);

/* The line executing in frame f of entry e, or 0 when unknown. */
int symcache__line(const symcache *c, const sym_entry *e, const py_frame_ref *f);

/* Grows whenever an entry is freed (its address now holds another code object, or
 * the cache started over): what was learnt from entries' addresses before holds
 * while it stays the same. */
uint64_t symcache__generation(const symcache *c);

/* How many code objects are cached (for debug output and tests). */
unsigned symcache__size(const symcache *c);

#endif
