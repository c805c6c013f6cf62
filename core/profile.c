/* Aggregates stack samples into a prefix tree with bounded memory. */
#include <stdlib.h>
#include <string.h>

#include "filspy/hash.h"
#include "filspy/log.h"
#include "filspy/profile.h"
#include "filspy/timeline.h"

/* The hard bound on a profile's memory: 160 000 nodes are 3.7 MiB of nodes, 1 MiB of
 * hash slots (2^18: a load of 5/8 at most), ~5 MiB with the frames; a stack beyond
 * it is cut at its deepest node, under one OVERFLOW_NAME node there from a reserve
 * (docs/cost.md). 200 000 at a load of 1/2 took 2 MiB more, and the bpf backend
 * over #18's 8 MiB. */
#define DEFAULT_MAX_NODES 160000u
#define MAX_FRAMES (1u << 20)
#define OVERFLOW_NAME "[more stacks than filspy keeps]"
#define OVERFLOW_KEY UINT64_MAX

typedef struct frame_entry {
	fs_frame frame;
	uint64_t key;
} frame_entry;

struct fs_profile {
	fs_node *nodes;
	size_t n_nodes, cap_nodes, max_nodes;
	uint32_t *node_slots; /* open addressing: node id, 0 = empty (root is never a child) */
	size_t node_mask;

	frame_entry *frames;
	size_t n_frames, cap_frames;
	uint32_t *frame_slots; /* frame id + 1, 0 = empty */
	size_t frame_mask;

	uint64_t samples;
	fs_frame_id overflow_frame;
	uint64_t merged;      /* samples counted under an overflow node */

	/* children in CSR form, built lazily */
	uint32_t *child_start; /* n_nodes + 1 entries */
	fs_node_id *child_ids;
	int children_valid;

	fs_timeline *timeline; /* NULL unless profile__keep_timeline */
};

static uint64_t node_hash(fs_node_id parent, fs_frame_id frame)
{
	return hash__mix64(((uint64_t)parent << 32) | frame);
}

static uint64_t frame_hash(uint64_t key, int line)
{
	return hash__mix64(key ^ hash__mix64((uint64_t)(uint32_t)line + 0x9e3779b97f4a7c15ULL));
}

static uint32_t *new_slots(size_t n)
{
	return calloc(n, sizeof(uint32_t));
}

fs_profile *profile__new(size_t max_nodes)
{
	fs_profile *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max_nodes = max_nodes ? max_nodes : DEFAULT_MAX_NODES;
	if (p->max_nodes < 2)
		p->max_nodes = 2;
	p->cap_nodes = 256;
	p->nodes = calloc(p->cap_nodes, sizeof(fs_node));
	p->node_mask = 511;
	p->node_slots = new_slots(p->node_mask + 1);
	p->cap_frames = 128;
	p->frames = calloc(p->cap_frames, sizeof(frame_entry));
	p->frame_mask = 255;
	p->frame_slots = new_slots(p->frame_mask + 1);
	p->overflow_frame = UINT32_MAX;
	if (!p->nodes || !p->node_slots || !p->frames || !p->frame_slots) {
		profile__free(p);
		return NULL;
	}
	p->n_nodes = 1; /* the root */
	return p;
}

void profile__free(fs_profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_frames; i++) {
		free((char *)p->frames[i].frame.name);
		free((char *)p->frames[i].frame.file);
	}
	free(p->frames);
	free(p->frame_slots);
	free(p->nodes);
	free(p->node_slots);
	free(p->child_start);
	free(p->child_ids);
	timeline__free(p->timeline);
	free(p);
}

static uint64_t frame_hash_of(const fs_profile *p, size_t i)
{
	return frame_hash(p->frames[i].key, p->frames[i].frame.line);
}

static uint64_t node_hash_of(const fs_profile *p, size_t i)
{
	return node_hash(p->nodes[i].parent, p->nodes[i].frame);
}

/* Into a table twice the size of *mask + 1: entries [first, count), each as its id
 * + plus (0 is empty). Returns 0, or -1 when out of memory (the old table stays). */
static int grow_slots(const fs_profile *p, uint32_t **slots, size_t *mask, size_t first,
		      size_t count, uint64_t (*hash_of)(const fs_profile *, size_t), uint32_t plus)
{
	size_t n = (*mask + 1) * 2;
	uint32_t *grown = new_slots(n);
	if (!grown)
		return -1;
	for (size_t i = first; i < count; i++) {
		size_t h = hash_of(p, i) & (n - 1);
		while (grown[h])
			h = (h + 1) & (n - 1);
		grown[h] = (uint32_t)i + plus;
	}
	free(*slots);
	*slots = grown;
	*mask = n - 1;
	return 0;
}

fs_frame_id profile__intern_frame(fs_profile *p, uint64_t key, int line,
				  const char *name, const char *file, uint8_t origin)
{
	size_t h = frame_hash(key, line) & p->frame_mask;
	for (uint32_t s; (s = p->frame_slots[h]); h = (h + 1) & p->frame_mask) {
		frame_entry *e = &p->frames[s - 1];
		if (e->key == key && e->frame.line == line)
			return s - 1;
	}
	if (p->n_frames >= MAX_FRAMES)
		return UINT32_MAX;
	if (p->n_frames == p->cap_frames) {
		frame_entry *f = realloc(p->frames, p->cap_frames * 2 * sizeof(*f));
		if (!f)
			return UINT32_MAX;
		p->frames = f;
		p->cap_frames *= 2;
	}
	char *n = strdup(name ? name : "");
	char *fl = strdup(file ? file : "");
	if (!n || !fl) {
		free(n);
		free(fl);
		return UINT32_MAX;
	}
	fs_frame_id id = (fs_frame_id)p->n_frames++;
	p->frames[id] = (frame_entry){ { n, fl, line, origin }, key };
	p->frame_slots[h] = id + 1;
	/* a table that could not grow still works, just fuller */
	if (p->n_frames * 2 > p->frame_mask + 1)
		grow_slots(p, &p->frame_slots, &p->frame_mask, 0, p->n_frames, frame_hash_of, 1);
	return id;
}

int profile__rename_frame(fs_profile *p, fs_frame_id id, const char *name)
{
	if (id >= p->n_frames)
		return -1;
	char *n = strdup(name ? name : "");
	if (!n)
		return -1;
	free((char *)p->frames[id].frame.name);
	p->frames[id].frame.name = n;
	p->children_valid = 0; /* children are sorted by name */
	return 0;
}

/* Finds the child of parent for frame; creates it when create is set and the budget
 * allows. Returns 0 (never a child id) when it neither exists nor could be made. */
static fs_node_id child_of(fs_profile *p, fs_node_id parent, fs_frame_id frame, int create)
{
	/* create 2: an overflow node, from the reserve */
	size_t most = create == 2 ? p->max_nodes + p->max_nodes / 64 + 64 : p->max_nodes;
	size_t h = node_hash(parent, frame) & p->node_mask;
	for (uint32_t s; (s = p->node_slots[h]); h = (h + 1) & p->node_mask) {
		if (p->nodes[s].parent == parent && p->nodes[s].frame == frame)
			return s;
	}
	if (!create || p->n_nodes >= most)
		return 0;
	if (p->n_nodes == p->cap_nodes) {
		size_t cap = p->cap_nodes * 2;
		if (cap > most)
			cap = most;
		fs_node *nodes = realloc(p->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return 0;
		p->nodes = nodes;
		p->cap_nodes = cap;
	}
	/* keep the load factor at 5/8 at most so probing stays short (linear probing
	 * there: ~1.8 slots a hit, ~3.1 a miss) */
	if ((p->n_nodes + 1) * 8 > (p->node_mask + 1) * 5) {
		if (grow_slots(p, &p->node_slots, &p->node_mask, 1, p->n_nodes, node_hash_of, 0) < 0)
			return 0;
		h = node_hash(parent, frame) & p->node_mask;
		while (p->node_slots[h])
			h = (h + 1) & p->node_mask;
	}
	fs_node_id id = (fs_node_id)p->n_nodes++;
	p->nodes[id] = (fs_node){ parent, frame, 0, 0 };
	p->node_slots[h] = id;
	p->children_valid = 0;
	return id;
}

static void warn_full(const fs_profile *p)
{
	size_t mib = (p->max_nodes * (sizeof(fs_node) + 2 * sizeof(uint32_t)) >> 20) + 1;
	fs_warn("the profile holds %zu stack nodes, its most (about %zu MiB): a new stack is "
		"now cut at its deepest known frame, under \"%s\"", p->max_nodes, mib, OVERFLOW_NAME);
}

/* profile__add_stack, returning the node that got the count */
static fs_node_id add(fs_profile *p, const fs_frame_id *frames, size_t n, uint64_t count)
{
	fs_node_id at = FS_ROOT_NODE;
	for (size_t i = 0; i < n; i++) {
		fs_node_id next = child_of(p, at, frames[i], 1);
		if (!next) {
			/* over budget: show it as one visible frame rather than cut silently */
			if (p->overflow_frame == UINT32_MAX)
				p->overflow_frame = profile__intern_frame(p, OVERFLOW_KEY, 0,
									  OVERFLOW_NAME, "",
									  FS_ORIGIN_SPECIAL);
			if (p->overflow_frame != UINT32_MAX) {
				fs_node_id o = child_of(p, at, p->overflow_frame, 2);
				if (o)
					at = o;
			}
			if (!p->merged)
				warn_full(p);
			p->merged += count;
			break;
		}
		at = next;
	}
	p->nodes[at].self += count;
	p->samples += count;
	return at;
}

int profile__add_stack(fs_profile *p, const fs_frame_id *frames, size_t n, uint64_t count)
{
	return add(p, frames, n, count), 0;
}

fs_node_id profile__add_thread_stack_at(fs_profile *p, int tid, const char *thread_name,
					const fs_frame_id *frames, size_t n, uint64_t count)
{
	fs_node_id leaf = add(p, frames, n, count);
	timeline__add(p->timeline, tid, thread_name, leaf, count);
	return leaf;
}

int profile__add_thread_stack(fs_profile *p, int tid, const char *thread_name,
			      const fs_frame_id *frames, size_t n, uint64_t count)
{
	profile__add_thread_stack_at(p, tid, thread_name, frames, n, count);
	return 0;
}

void profile__add_at_node(fs_profile *p, int tid, const char *thread_name, fs_node_id node,
			  uint64_t count)
{
	if (node >= p->n_nodes)
		return;
	p->nodes[node].self += count;
	p->samples += count;
	timeline__add(p->timeline, tid, thread_name, node, count);
}

int profile__keep_timeline(fs_profile *p, size_t max_entries)
{
	if (!p->timeline)
		p->timeline = timeline__new(max_entries);
	return p->timeline ? 0 : -1;
}

const fs_timeline *profile__timeline(const fs_profile *p)
{
	return p->timeline;
}

size_t profile__node_count(const fs_profile *p)
{
	return p->n_nodes;
}

const fs_node *profile__node(const fs_profile *p, fs_node_id id)
{
	return id < p->n_nodes ? &p->nodes[id] : NULL;
}

size_t profile__frame_count(const fs_profile *p)
{
	return p->n_frames;
}

const fs_frame *profile__frame(const fs_profile *p, fs_frame_id id)
{
	return id < p->n_frames ? &p->frames[id].frame : NULL;
}

uint64_t profile__samples(const fs_profile *p)
{
	return p->samples;
}

void profile__finish_totals(fs_profile *p)
{
	for (size_t i = 0; i < p->n_nodes; i++)
		p->nodes[i].total = p->nodes[i].self;
	/* children always have larger ids than their parent: one backward pass */
	for (size_t i = p->n_nodes - 1; i > 0; i--)
		p->nodes[p->nodes[i].parent].total += p->nodes[i].total;
}

/* qsort_r comparator: flamegraph order is by name, then file, then line. */
static int compare_nodes(const void *a, const void *b, void *ctx)
{
	const fs_profile *p = ctx;
	const fs_frame *fa = &p->frames[p->nodes[*(const fs_node_id *)a].frame].frame;
	const fs_frame *fb = &p->frames[p->nodes[*(const fs_node_id *)b].frame].frame;
	int c = strcmp(fa->name, fb->name);
	if (!c)
		c = strcmp(fa->file, fb->file);
	if (!c)
		c = (fa->line > fb->line) - (fa->line < fb->line);
	return c;
}

static int build_children(fs_profile *p)
{
	free(p->child_start);
	free(p->child_ids);
	/* a counting sort by parent: child_start[parent + 1] is the parent's cursor
	 * while they are placed, and then where the next parent's children start */
	p->child_start = calloc(p->n_nodes + 2, sizeof(uint32_t));
	p->child_ids = malloc((p->n_nodes ? p->n_nodes : 1) * sizeof(fs_node_id));
	if (!p->child_start || !p->child_ids)
		return -1;
	for (size_t i = 1; i < p->n_nodes; i++)
		p->child_start[p->nodes[i].parent + 2]++;
	for (size_t i = 0; i < p->n_nodes; i++)
		p->child_start[i + 1] += p->child_start[i];
	for (size_t i = 1; i < p->n_nodes; i++)
		p->child_ids[p->child_start[p->nodes[i].parent + 1]++] = (fs_node_id)i;
	for (size_t i = 0; i < p->n_nodes; i++) {
		uint32_t n = p->child_start[i + 1] - p->child_start[i];
		if (n > 1)
			qsort_r(p->child_ids + p->child_start[i], n, sizeof(fs_node_id),
				compare_nodes, p);
	}
	p->children_valid = 1;
	return 0;
}

size_t profile__children(fs_profile *p, fs_node_id node, const fs_node_id **out)
{
	*out = NULL;
	if (node >= p->n_nodes)
		return 0;
	if (!p->children_valid && build_children(p) < 0) {
		free(p->child_start);
		free(p->child_ids);
		p->child_start = NULL;
		p->child_ids = NULL;
		return 0;
	}
	*out = p->child_ids + p->child_start[node];
	return p->child_start[node + 1] - p->child_start[node];
}

uint64_t profile__merged(const fs_profile *p)
{
	return p->merged;
}
