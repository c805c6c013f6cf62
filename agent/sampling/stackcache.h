/* Samples of a stack seen before: the raw frames of a sample (code object,
 * instruction, check word per frame) hashed to a key, and the profile node its
 * stack ended at, so that the same stack again costs a hash and a lookup instead of
 * resolving and interning every frame and walking the tree (most samples of a
 * running program repeat a stack seen a moment before). */
#ifndef FILSPY_STACKCACHE_H
#define FILSPY_STACKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filspy/profile.h"
#include "filspy/pystack.h"

typedef struct stack_cache stack_cache;

/* An empty cache (bounded: it starts again empty when full), or NULL. */
stack_cache *stackcache__new(void);
void stackcache__free(stack_cache *c);

/* The key of a sample: its frames (innermost first; checks may be NULL), whether
 * it was cut, and salt (the thread and its name when they make the stack's root). */
uint64_t stackcache__key(const py_frame_ref *frames, const uint32_t *checks, int depth,
			 bool truncated, uint64_t salt);

/* The same for frames as a sampler got them, before they were turned into
 * py_frame_refs: n words (bpf: two a frame, struct fsbpf_frame), taken in pairs.
 * One mix a pair, half of stackcache__key's, and no copy first. */
uint64_t stackcache__key_words(const uint64_t *words, size_t n, bool truncated, uint64_t salt);

/* h continued over the word v: for keys of more than a sample's Python frames
 * (its native frames: nativestack__unwind), given to stackcache__key as salt. */
uint64_t stackcache__mix(uint64_t h, uint64_t v);

/* The node stored for key, or FS_ROOT_NODE when there is none. */
fs_node_id stackcache__find(const stack_cache *c, uint64_t key);
void stackcache__put(stack_cache *c, uint64_t key, fs_node_id node);

/* Forgets everything (the profile the nodes belong to was replaced). */
void stackcache__clear(stack_cache *c);

#endif
