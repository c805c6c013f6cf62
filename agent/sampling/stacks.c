/* One thread's walked frames -> a profile stack, or lines of a dump; and what the
 * backends that walk frames themselves warn about at start. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/hash.h"
#include "filspy/imports.h"
#include "filspy/log.h"
#include "cpython/pylocals.h"
#include "sampling/stacks.h"
#include "sampling/threadnames.h"
#include "sampling/procthreads.h"
#include "sampling/threadstate.h"

#define KEY_TRUNCATED 0xfffffffffffffffeULL
#define KEY_THREAD_BASE 0xffffffff00000000ULL

static fs_frame_id thread_root(fs_profile *p, int tid)
{
	char name[96];
	snprintf(name, sizeof(name), "thread (%d): %s", tid, threadnames__of(tid));
	fs_frame_id id = profile__intern_frame(p, KEY_THREAD_BASE | (uint32_t)tid, 0, name, "",
					       FS_ORIGIN_SPECIAL);
	/* a thread runs a moment under its kernel name before its Python name can be
	 * read: one root per thread, under the name it has now */
	const fs_frame *fr = id != UINT32_MAX ? profile__frame(p, id) : NULL;
	if (fr && strcmp(fr->name, name))
		profile__rename_frame(p, id, name);
	return id;
}

/* The line a frame shows: where it is, its function's first line, or none. */
static int line_of(const fs_settings *s, stack_builder *b, const sym_entry *e,
		   const py_frame_ref *f)
{
	if (s->nolineno)
		return 0;
	if (s->function)
		return e->firstlineno > 0 ? e->firstlineno : 0;
	return symcache__line(b->cache, e, f);
}

/* The module the _find_and_load frame f imports, read from its first argument
 * into one of b's buffers (used counts them); NULL when it cannot be read. */
static const char *module_of(stack_builder *b, const py_frame_ref *f, int *used)
{
	if (!b->rt || !f->frame || *used == STACKS_MAX_IMPORTS)
		return NULL;
	char *out = b->modules[*used];
	if (pylocals__first_str(b->rt, f, out, STACKS_IMPORT_NAME) <= 0)
		return NULL;
	(*used)++;
	return out;
}

/* A native frame's key: its name and module, apart from the symbol cache's keys */
static uint64_t native_key(const stack_item *item)
{
	return hash__field(hash__field(HASH_FNV_OFFSET ^ 0x6e6174697665ULL, item->name), item->file);
}

/* Whether entry e is the code object a sample saw, by the sample's check word
 * (none: nothing to tell) */
static bool seen_by_sample(const sym_entry *e, const uint32_t *checks, int i)
{
	return !checks || !checks[i] || checks[i] == (uint32_t)e->check_name;
}

/* Whether every Python frame of a sample has its name (b->entries), the code object
 * the sample saw. A native sample's native frames hang from its Python frames
 * (nativestack__merge): without one of these they hang from the wrong caller, or
 * from none (a bpf record of 3.11 whose two frames were no code objects at all gave
 * `PyCFuncPtr_call` as a stack's root, 1 run in 3 of native_qsort.py here). */
static bool all_named(const stack_builder *b, const uint32_t *checks, int depth)
{
	for (int i = 0; i < depth; i++)
		if (!b->entries[i] || !seen_by_sample(b->entries[i], checks, i))
			return false;
	return true;
}

/* Adds the sample whose frames b->entries holds already to profile p, below a root
 * frame (root_name, unless NULL) and a thread root (with_thread). */
static void emit(fs_profile *p, const fs_settings *s, stack_builder *b, uint64_t root_key,
		 const char *root_name, bool with_thread, bool count_stale, int tid,
		 const py_frame_ref *frames, const uint32_t *checks, int depth, bool truncated,
		 uint64_t weight)
{
	size_t k = 0;
	if (root_name)
		b->ids[k++] = profile__intern_frame(p, root_key, 0, root_name, "", FS_ORIGIN_SPECIAL);
	if (with_thread)
		b->ids[k++] = thread_root(p, tid);
	/* the walk starts at the innermost frame, so a cut stack lacks its root */
	if (truncated)
		b->ids[k++] = profile__intern_frame(p, KEY_TRUNCATED, 0, "[truncated]", "",
						    FS_ORIGIN_SPECIAL);
	size_t first_python = k;
	bool imports = false, complete = true;
	int used = 0;
	size_t n = b->items ? b->n_items : (size_t)(depth > 0 ? depth : 0);
	for (size_t j = 0; j < n && k < STACKS_MAX_DEPTH + 3; j++) {
		const stack_item *item = b->items ? &b->items[j] : NULL;
		if (item && item->py < 0) {
			fs_frame_id id = profile__intern_frame(p, native_key(item), 0, item->name,
							       item->file, FS_ORIGIN_OWN);
			if (id != UINT32_MAX) {
				b->known[k] = NULL;
				b->ids[k++] = id;
			}
			continue;
		}
		int i = item ? item->py : depth - 1 - (int)j;
		if (i >= depth)
			continue;
		const sym_entry *e = b->entries[i];
		if (!e) {
			complete = false;
			continue;
		}
		if (!seen_by_sample(e, checks, i)) {
			if (count_stale)
				b->stale++;
			complete = false;
			continue;
		}
		bool machinery = !s->raw_imports && e->import_role != SYM_IMPORT_NONE;
		/* machinery frames are interned too: imports__collapse reads their names
		 * from the profile, then puts `import NAME` frames in their place */
		fs_frame_id id = profile__intern_frame(p, e->key, line_of(s, b, e, &frames[i]),
						       e->name, e->file, e->origin);
		if (id == UINT32_MAX)
			continue;
		b->known[k] = machinery && e->import_role == SYM_IMPORT_FIND_AND_LOAD
			? module_of(b, &frames[i], &used) : NULL;
		imports |= machinery;
		b->ids[k++] = id;
	}
	if (imports)
		k = first_python + imports__collapse(p, b->ids + first_python, k - first_python,
						     b->known + first_python);
	b->n_ids = k > first_python ? k : 0;
	b->last_node = FS_ROOT_NODE;
	b->last_cacheable = complete && !imports;
	if (k > first_python)
		b->last_node = profile__add_thread_stack_at(
			p, tid, profile__timeline(p) ? threadnames__of(tid) : NULL, b->ids, k, weight);
}

/* The key of a sample for b->seen, 0 when it must go the long way: native frames
 * without a key of their own (b->items_key), a second profile (the GIL view) to
 * add it to as well, or ids wanted back. */
static uint64_t seen_key(fs_agent *a, stack_builder *b, bool to_main, const fs_profile *second,
			 int tid, const py_frame_ref *frames, const uint32_t *checks, int depth,
			 bool truncated)
{
	bool native = b->items || b->make_items;
	if (!to_main || second || (native && !b->items_key) || (!checks && b->keep_ids))
		return 0;
	if (!b->seen_tried) {
		b->seen_tried = true;
		b->seen = stackcache__new();
	}
	if (!b->seen)
		return 0;
	/* the thread's root names it: a renamed thread is a new stack */
	uint64_t salt = a->settings.threads
		? hash__string(HASH_FNV_OFFSET ^ (uint64_t)(uint32_t)tid, threadnames__of(tid)) : 0;
	if (native)
		salt = stackcache__mix(salt, b->items_key);
	return b->given_key ? stackcache__mix(b->given_key, salt)
			    : stackcache__key(frames, checks, depth, truncated, salt);
}

void stacks__release(stack_builder *b)
{
	stackcache__free(b->seen);
	b->seen = NULL;
	b->seen_tried = false;
}

void stacks__add_again(fs_agent *a, int tid, const fs_frame_id *ids, size_t n, uint64_t weight)
{
	fs_profile *p = a->profile;
	if (n)
		profile__add_thread_stack(p, tid, profile__timeline(p) ? threadnames__of(tid) : NULL,
					  ids, n, weight);
}

void stacks__add(fs_agent *a, stack_builder *b, int tid, const py_frame_ref *frames,
		 const uint32_t *checks, int depth, bool truncated)
{
	stacks__add_both(a, b, true, NULL, 0, NULL, tid, frames, checks, depth, truncated, 1);
}

void stacks__add_both(fs_agent *a, stack_builder *b, bool to_main, fs_profile *second,
		      uint64_t root_key, const char *root_name, int tid,
		      const py_frame_ref *frames, const uint32_t *checks, int depth, bool truncated,
		      uint64_t weight)
{
	if (depth > STACKS_MAX_DEPTH)
		depth = STACKS_MAX_DEPTH;
	uint64_t key = seen_key(a, b, to_main, second, tid, frames, checks, depth, truncated);
	bool resolved = false;
	if (key && !checks) {
		/* no check words: a key of code addresses names the same stack while
		 * the symbol cache, which reads every code object again here, replaced
		 * none of its entries since the key was put */
		symcache__resolve(b->cache, frames, depth, b->entries);
		resolved = true;
		uint64_t generation = symcache__generation(b->cache);
		if (generation != b->seen_generation) {
			stackcache__clear(b->seen);
			b->seen_generation = generation;
		}
	}
	fs_node_id node = key ? stackcache__find(b->seen, key) : FS_ROOT_NODE;
	if (node != FS_ROOT_NODE) {
		fs_profile *p = a->profile;
		profile__add_at_node(p, tid, profile__timeline(p) ? threadnames__of(tid) : NULL, node,
				     weight);
		b->n_ids = 0; /* no ids: whoever wants them (idlehold) sets keep_ids */
		return;
	}
	b->named++;
	if (b->fill_frames) {
		b->fill_frames(b, b->fill_frames_arg);
		b->fill_frames = NULL;
	}
	if (!resolved)
		symcache__resolve_checked(b->cache, frames, checks, depth, b->entries);
	/* a native sample is whole or not kept: Python-only ones keep the frames they
	 * can name */
	if ((b->items || b->make_items) && !all_named(b, checks, depth)) {
		b->unnamed += to_main ? weight : 0; /* the main profile's loss */
		b->n_ids = 0;
		b->last_node = FS_ROOT_NODE;
		return;
	}
	if (b->make_items && !b->items)
		b->make_items(b, b->make_items_arg);
	if (to_main)
		emit(a->profile, &a->settings, b, 0, NULL, a->settings.threads, true, tid, frames,
		     checks, depth, truncated, weight);
	if (key && b->last_cacheable)
		stackcache__put(b->seen, key, b->last_node);
	if (second)
		emit(second, &a->settings, b, root_key, root_name, true, !to_main, tid, frames,
		     checks, depth, truncated, weight);
}

/* with locals_of, each frame's locals too (filspy dump --locals) */
static void print_frames(FILE *f, stack_builder *b, const py_frame_ref *frames, int depth,
			 bool truncated, const py_runtime *locals_of)
{
	if (depth > STACKS_MAX_DEPTH)
		depth = STACKS_MAX_DEPTH;
	symcache__resolve(b->cache, frames, depth, b->entries);
	for (int k = 0; k < depth; k++) {
		const sym_entry *e = b->entries[k];
		if (!e)
			continue;
		fprintf(f, "    %s (%s:%d)\n", e->name, e->file,
			symcache__line(b->cache, e, &frames[k]));
		if (locals_of)
			pylocals__print(locals_of, &frames[k], f);
	}
	if (truncated)
		fprintf(f, "    [truncated]\n");
}

#define DUMP_MAX_THREADS 1024

void stacks__dump(fs_agent *a, const py_runtime *rt, stack_builder *b, FILE *f)
{
	py_thread *threads = calloc(DUMP_MAX_THREADS, sizeof(*threads));
	py_frame_ref *frames = calloc(STACKS_MAX_DEPTH, sizeof(*frames));
	py_walk *walk = pyframes__new_walk(rt, STACKS_MAX_DEPTH);
	if (!threads || !frames || !walk) {
		fprintf(f, "error: out of memory\n");
		goto out;
	}
	int n = pythreads__list(rt, threads, DUMP_MAX_THREADS);
	gil_info gil = { 0 };
	fprintf(f, "Process %d: %s\nPython v%s (%s backend)\n", a->pid, a->title, rt->version,
		a->backend ? a->backend->name : "no");
	for (int i = 0; i < n; i++) {
		const py_thread *t = &threads[i];
		bool truncated = false;
		/* a running thread's stack, as it really was (see pyframes__sample) */
		int depth = -EAGAIN;
		for (int attempt = 0; t->top_frame && walk && attempt < 4 && depth == -EAGAIN; attempt++)
			depth = pyframes__sample(rt, walk, t->tstate, frames, STACKS_MAX_DEPTH, &truncated);
		if (!t->top_frame)
			depth = 0;
		/* py-spy's words: active/idle, +gil for the holder, and ours for a waiter */
		bool running;
		threadstate__gil(rt, t->interp, &gil);
		enum fs_thread_state state = threadstate__classify(rt, &gil, t, &running);
		const char *word = state == TS_WAITING ? "waiting for the gil"
				 : running ? (state == TS_HOLDING ? "active+gil" : "active")
				 : (state == TS_HOLDING ? "idle+gil" : "idle");
		fprintf(f, "\nThread %d (%s): \"%s\"\n", t->tid, word, threadnames__get(rt, t));
		if (depth < 0)
			fprintf(f, "    (the stack changed while it was read)\n");
		else
			print_frames(f, b, frames, depth, truncated, a->dump_locals ? rt : NULL);
	}
out:
	pyframes__free_walk(walk);
	free(threads);
	free(frames);
}

void stacks__warn_limits(const char *backend, const fs_settings *s, const py_runtime *rt,
			 bool native_known, bool holder_known, bool view, bool gil_known)
{
	if (s->native && !native_known)
		fs_warn("FIL_PERF_SPY_NATIVE: the %s backend sees Python frames only; "
			"native frames are left out (the bpf and pyspy backends have them)", backend);
	if (s->gil && !holder_known)
		fs_warn("FIL_PERF_SPY_GIL: the GIL holder of CPython %s cannot be read; "
			"keeping every thread's samples", rt->version);
	if (view && !gil_known)
		fs_warn("FIL_PERF_SPY_OUTPUT=gil: the GIL of CPython %s cannot be read; the GIL "
			"view tells running from idle threads only", rt->version);
}
