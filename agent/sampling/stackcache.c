/* Raw stack -> profile node, for samples of a stack seen before. */
#include <stdlib.h>
#include <string.h>

#include "sampling/stackcache.h"

/* 64 Ki slots of 12 bytes: 768 KiB at most, allocated at the first sample. A
 * 64-bit key makes two different stacks of one run meet in one entry with a
 * chance of about n^2 / 2^65 (1e-10 for 64 Ki stacks). */
#define SLOTS (1u << 16)
#define FULL (SLOTS / 4 * 3)

struct slot {
	uint64_t key;   /* 0: free */
	fs_node_id node;
} __attribute__((packed));

struct stack_cache {
	struct slot *slots;
	size_t used;
};

stack_cache *stackcache__new(void)
{
	stack_cache *c = calloc(1, sizeof(*c));
	if (c && !(c->slots = calloc(SLOTS, sizeof(*c->slots)))) {
		free(c);
		return NULL;
	}
	return c;
}

void stackcache__free(stack_cache *c)
{
	if (c)
		free(c->slots);
	free(c);
}

uint64_t stackcache__mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

uint64_t stackcache__key(const py_frame_ref *frames, const uint32_t *checks, int depth,
			 bool truncated, uint64_t salt)
{
	uint64_t h = stackcache__mix(0x6a09e667f3bcc908ULL ^ salt, (uint64_t)depth << 1 | truncated);
	for (int i = 0; i < depth; i++) {
		h = stackcache__mix(h, frames[i].code);
		h = stackcache__mix(h, (uint64_t)frames[i].instr ^ ((uint64_t)(checks ? checks[i] : 0) << 32));
	}
	return h ? h : 1;
}

uint64_t stackcache__key_words(const uint64_t *words, size_t n, bool truncated, uint64_t salt)
{
	uint64_t h = stackcache__mix(0xbb67ae8584caa73bULL ^ salt, (uint64_t)n << 1 | truncated);
	/* the second word multiplied by an odd constant first: a pair's two words do
	 * not cancel when swapped or shifted alike */
	for (size_t i = 0; i + 1 < n; i += 2)
		h = stackcache__mix(h, words[i] ^ (words[i + 1] * 0x9e3779b97f4a7c15ULL));
	return h ? h : 1;
}

static size_t home(uint64_t key)
{
	return (size_t)(key >> 40) & (SLOTS - 1);
}

fs_node_id stackcache__find(const stack_cache *c, uint64_t key)
{
	for (size_t i = home(key); c->slots[i].key; i = (i + 1) & (SLOTS - 1))
		if (c->slots[i].key == key)
			return c->slots[i].node;
	return FS_ROOT_NODE;
}

void stackcache__put(stack_cache *c, uint64_t key, fs_node_id node)
{
	if (node == FS_ROOT_NODE)
		return;
	if (c->used >= FULL)
		stackcache__clear(c);
	size_t i = home(key);
	while (c->slots[i].key && c->slots[i].key != key)
		i = (i + 1) & (SLOTS - 1);
	if (!c->slots[i].key)
		c->used++;
	c->slots[i].key = key;
	c->slots[i].node = node;
}

void stackcache__clear(stack_cache *c)
{
	memset(c->slots, 0, SLOTS * sizeof(*c->slots));
	c->used = 0;
}
