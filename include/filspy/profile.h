/* Aggregated stack samples: a prefix tree of frames with a count per node. */
#ifndef FILSPY_PROFILE_H
#define FILSPY_PROFILE_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t fs_frame_id;
typedef uint32_t fs_node_id;

#define FS_ROOT_NODE ((fs_node_id)0)

/* Where a frame's file lives; writers colour by it. */
enum fs_origin {
	FS_ORIGIN_OWN = 0,      /* the program's own code */
	FS_ORIGIN_STDLIB = 1,   /* the interpreter's standard library */
	FS_ORIGIN_PACKAGE = 2,  /* site-packages / dist-packages */
	FS_ORIGIN_SPECIAL = 3,  /* synthetic frames: thread roots, [truncated], ... */
};

typedef struct fs_frame {
	const char *name;  /* function (qualified) name, UTF-8, never NULL */
	const char *file;  /* short file name, UTF-8, "" for synthetic frames */
	int line;          /* 0 when unknown or synthetic */
	uint8_t origin;    /* enum fs_origin */
} fs_frame;

typedef struct fs_node {
	fs_node_id parent; /* FS_ROOT_NODE for top-level frames; the root's parent is itself */
	fs_frame_id frame; /* meaningless for the root */
	uint64_t self;     /* samples whose leaf is this node */
	uint64_t total;    /* self + all descendants; valid after profile__finish_totals() */
} fs_node;

typedef struct fs_profile fs_profile;

/* Creates an empty profile that keeps at most max_nodes tree nodes (0: the default,
 * 160 000: about 5 MiB; core/profile.c).
 * Returns NULL when out of memory. The caller owns it; free with profile__free. */
fs_profile *profile__new(size_t max_nodes);
void profile__free(fs_profile *p);

/* Returns the id of the frame (key, line), creating it with copies of name and file
 * when new. key identifies the code object (a symbol-cache id); frames with the same
 * key and line are the same frame. Returns UINT32_MAX when out of memory. */
fs_frame_id profile__intern_frame(fs_profile *p, uint64_t key, int line,
				  const char *name, const char *file, uint8_t origin);

/* Gives frame id a new name (a thread root whose thread got its Python name).
 * Returns 0, or -1 when id is unknown or out of memory (the old name stays). */
int profile__rename_frame(fs_profile *p, fs_frame_id id, const char *name);

/* Adds count samples of a stack given root first. When the node budget is exhausted
 * the stack is cut at the deepest node that exists and a "[more stacks than filspy
 * keeps]" frame is added (if even that fails, the count goes to the deepest kept
 * node). Returns 0, or -1 only when out of memory before anything was counted. */
int profile__add_stack(fs_profile *p, const fs_frame_id *frames, size_t n, uint64_t count);

/* Samples that were cut under "[more stacks than filspy keeps]": the node budget
 * was spent (one stderr line says so the first time). */
uint64_t profile__merged(const fs_profile *p);

/* The same, for a sample of thread tid (named thread_name now, NULL when unknown):
 * also appended to the profile's timeline when it keeps one. */
int profile__add_thread_stack(fs_profile *p, int tid, const char *thread_name,
			      const fs_frame_id *frames, size_t n, uint64_t count);

/* profile__add_thread_stack, returning the node that got the count: a sample of
 * the same stack later is profile__add_at_node of it, without the walk. */
fs_node_id profile__add_thread_stack_at(fs_profile *p, int tid, const char *thread_name,
					const fs_frame_id *frames, size_t n, uint64_t count);

/* count samples more of the stack that ends at node (from the call above), for
 * thread tid: the same as adding that stack again. */
void profile__add_at_node(fs_profile *p, int tid, const char *thread_name, fs_node_id node,
			  uint64_t count);

/* From now on the profile keeps the order of the samples given with
 * profile__add_thread_stack, per thread, in a timeline of at most max_entries (0:
 * the default cap, see filspy/timeline.h). Returns 0, or -1 when out of memory. */
int profile__keep_timeline(fs_profile *p, size_t max_entries);

/* The timeline, NULL when the profile keeps none. */
typedef struct fs_timeline fs_timeline;
const fs_timeline *profile__timeline(const fs_profile *p);

/* Read access for the writers. Node 0 is the root; ids run 0..node_count-1 and a
 * parent's id is always smaller than its children's. */
size_t profile__node_count(const fs_profile *p);
const fs_node *profile__node(const fs_profile *p, fs_node_id id);
size_t profile__frame_count(const fs_profile *p);
const fs_frame *profile__frame(const fs_profile *p, fs_frame_id id);
uint64_t profile__samples(const fs_profile *p);

/* Fills every node's total. Call before reading totals. */
void profile__finish_totals(fs_profile *p);

/* Children of a node, sorted by frame name then file then line (the order
 * flamegraphs draw them in). Returns the number of children and sets *out to an
 * array owned by the profile, valid until the next profile__add_stack. Built lazily
 * for all nodes at once on first call. Returns 0 with *out NULL on allocation failure. */
size_t profile__children(fs_profile *p, fs_node_id node, const fs_node_id **out);

#endif
