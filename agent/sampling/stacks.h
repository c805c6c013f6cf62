/* One thread's walked frames -> a stack in the profile, the text a `dump` prints
 * and the warnings at start: shared by the backends that read frames themselves
 * (self, bpf). */
#ifndef FILSPY_STACKS_H
#define FILSPY_STACKS_H

#include <stdbool.h>
#include <stdio.h>

#include "agent.h"
#include "filspy/pystack.h"
#include "filspy/pystacks.h"
#include "filspy/symcache.h"
#include "sampling/stackcache.h"

/* the bpf program's depth too (one constant in pystacks.h) */
#define STACKS_MAX_DEPTH FS_STACK_MAX_DEPTH

/* How many imports of one stack get their module's name read (deeper ones, rare,
 * are named from the module they run, see imports__collapse) */
#define STACKS_MAX_IMPORTS 32
#define STACKS_IMPORT_NAME 128

typedef struct stack_builder {
	symcache *cache;
	const py_runtime *rt;  /* for the modules imports load (NULL: not read) */
	const sym_entry *entries[STACKS_MAX_DEPTH];
	fs_frame_id ids[STACKS_MAX_DEPTH + 3];
	size_t n_ids;    /* of the last stack added: ids[0..n_ids), root first */
	const char *known[STACKS_MAX_DEPTH + 3];  /* per id: the module it imports */
	char modules[STACKS_MAX_IMPORTS][STACKS_IMPORT_NAME];
	uint64_t stale;  /* frames dropped: their code object changed since the sample */
	uint64_t unnamed; /* native samples dropped: a Python frame of theirs had no name */
	/* calls that went the long way (a stack the cache did not know): their frames
	 * were named just now, from code objects that may not live much longer */
	uint64_t named;
	/* when set, the next stacks__add* take their frames in this order instead of
	 * the sample's Python frames alone (the caller sets and clears it) */
	const stack_item *items;
	size_t n_items;
	/* or, in their stead, how to make them (bpf's native frames): only when the
	 * stack cache does not know the sample, whose key then takes items_key too
	 * (0: the stack may not be cached) */
	void (*make_items)(struct stack_builder *b, void *arg);
	void *make_items_arg;
	uint64_t items_key;
	/* a key the caller made of the sample as it came (stackcache__key_words), 0
	 * when none; the frames given with it are filled in by fill_frames, called
	 * only when the stack cache does not know the key (a sample seen before is
	 * then a hash of its raw frames and a lookup: no copy, no per-frame work) */
	uint64_t given_key;
	void (*fill_frames)(struct stack_builder *b, void *arg);
	void *fill_frames_arg;
	/* samples of a stack seen before (sampling/stackcache.c): made at the first
	 * sample, freed by stacks__release */
	stack_cache *seen;
	bool seen_tried;
	/* samples without check words (the self backend) use seen too: their code
	 * objects are read again by the symbol cache first, and seen is emptied when
	 * its generation changes; but not when the caller wants the ids (keep_ids) */
	bool keep_ids;
	uint64_t seen_generation;
	fs_node_id last_node;  /* where emit's last stack ended (FS_ROOT_NODE: nowhere) */
	bool last_cacheable;   /* every frame of it resolved, none stale, no import name */
} stack_builder;

/* Frees what the builder made for itself (not its symbol cache). */
void stacks__release(stack_builder *b);

/* Adds one sample of thread tid whose frames (innermost first) are frames[0..depth)
 * to a->profile, under a `thread (TID): NAME` root with FIL_PERF_SPY_THREADS and
 * below a `[truncated]` root when the walk was cut; the import machinery's frames
 * become `import NAME` frames unless FIL_PERF_SPY_RAW_IMPORTS, and lines follow
 * FIL_PERF_SPY_FUNCTION (the function's first line) and FIL_PERF_SPY_NOLINENO (0). Frames whose code object cannot
 * be read are left out, and so are those whose check word (checks: NULL, or per
 * frame the low 32 bits of the name pointer when sampled, 0 for unknown) no longer
 * matches: the code object was freed and its address reused since. */
void stacks__add(fs_agent *a, stack_builder *b, int tid, const py_frame_ref *frames,
		 const uint32_t *checks, int depth, bool truncated);

/* Counts weight samples more of a stack added before (ids as stack_builder's after
 * that stacks__add) for thread tid, without resolving its frames again. */
void stacks__add_again(fs_agent *a, int tid, const fs_frame_id *ids, size_t n, uint64_t weight);

/* The same sample, resolved once, into a->profile (when to_main, as stacks__add
 * does) and into second (when not NULL) as ROOT;thread (TID): NAME;frames, ROOT
 * being a synthetic frame root_name with key root_key: the GIL view's state.
 * weight: how many samples it stands for (off-CPU time comes in one piece). */
void stacks__add_both(fs_agent *a, stack_builder *b, bool to_main, fs_profile *second,
		      uint64_t root_key, const char *root_name, int tid,
		      const py_frame_ref *frames, const uint32_t *checks, int depth, bool truncated,
		      uint64_t weight);

/* Prints every thread's current stack, innermost frame first, read from memory
 * now (`filspy dump`), whatever the backend. */
void stacks__dump(fs_agent *a, const py_runtime *rt, stack_builder *b, FILE *f);

/* The warnings of a backend that walks frames itself (self, bpf) at start, one
 * place for their words: native frames are left out unless native_known
 * (FIL_PERF_SPY_NATIVE: bpf says itself why when it cannot have them; self
 * would have to stop a thread to copy its registers and stack); without
 * holder_known, FIL_PERF_SPY_GIL keeps every thread; with view (the GIL view is
 * asked) but without gil_known, the view cannot tell waiting threads. */
void stacks__warn_limits(const char *backend, const fs_settings *s, const py_runtime *rt,
			 bool native_known, bool holder_known, bool view, bool gil_known);

#endif
