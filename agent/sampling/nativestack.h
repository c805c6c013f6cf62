/* FIL_PERF_SPY_NATIVE: a sample's native stack, unwound by libfilspy-native.so
 * from the registers and stack copy the bpf program sends, merged with its Python
 * frames as py-spy --native does: each eval-loop C frame becomes the Python
 * frames it runs, interpreter plumbing between them is left out, and C functions
 * called from Python stay under their caller. */
#ifndef FILSPY_NATIVESTACK_H
#define FILSPY_NATIVESTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filspy/pystacks.h"
#include "sampling/stacks.h"

typedef struct native_stacks native_stacks;

/* Loads libfilspy-native.so from beside the agent and reads this process's
 * mappings. NULL with why filled in (one sentence). */
native_stacks *nativestack__open(char *why, size_t size);
void nativestack__close(native_stacks *ns);

/* Unwinds the native stack of nat (its stack copy follows it) and names its
 * frames. Returns a key of what the merge of it would show (each frame's function,
 * or its address where it has no name), or 0 when nothing could be unwound or a
 * frame lies in no known module (a later re-read of the mappings may name it):
 * a stack cache may then stand for the merge (agent/sampling/stackcache.c). */
uint64_t nativestack__unwind(native_stacks *ns, int tid, const struct fsbpf_native *nat);

/* Merges the stack nativestack__unwind read last with a sample's depth Python
 * frames, innermost first; entry[i] tells whether frame i is the first an
 * eval-loop C call ran (every_frame: each frame has its own C call, as before
 * 3.11). Returns the merged stack, root first, valid until the next call (*n its
 * length; NULL when nothing could be unwound: use the Python frames). */
const stack_item *nativestack__merge(native_stacks *ns, const bool *entry, bool every_frame,
				     int depth, size_t *n);

/* Counters for the debug line at the end */
void nativestack__counts(const native_stacks *ns, uint64_t *unwound, uint64_t *frames,
			 uint64_t *mismatched);

#endif
