/* Per-thread sample order, kept beside the profile's tree for speedscope. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/log.h"
#include "filspy/timeline.h"

struct fs_timeline {
	fs_timeline_entry *entries;
	size_t n, cap, max;
	fs_timeline_thread threads[TIMELINE_MAX_THREADS];
	size_t n_threads;
	uint64_t dropped;
	bool full;  /* the cap was met: nothing more joins the order, not even a repeat */
};

fs_timeline *timeline__new(size_t max_entries)
{
	fs_timeline *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max = max_entries ? max_entries : TIMELINE_MAX_ENTRIES;
	return t;
}

void timeline__free(fs_timeline *t)
{
	if (t)
		free(t->entries);
	free(t);
}

static fs_timeline_thread *thread_of(fs_timeline *t, int tid, size_t *index)
{
	/* few threads, and the newest ones sample most: search from the end */
	for (size_t i = t->n_threads; i-- > 0;)
		if (t->threads[i].tid == tid) {
			*index = i;
			return &t->threads[i];
		}
	if (t->n_threads == TIMELINE_MAX_THREADS)
		return NULL;
	*index = t->n_threads;
	fs_timeline_thread *th = &t->threads[t->n_threads++];
	th->tid = tid;
	th->name[0] = 0;
	th->last = UINT32_MAX;
	return th;
}

static void drop(fs_timeline *t, uint64_t count)
{
	if (!t->dropped)
		fs_warn("speedscope: the time order is full (%zu runs of samples); later samples "
			"count in every format but go to one aggregated profile in speedscope",
			t->max);
	t->dropped += count;
}

void timeline__add(fs_timeline *t, int tid, const char *name, fs_node_id node, uint64_t count)
{
	if (!t || !count)
		return;
	if (t->full) {
		drop(t, count);
		return;
	}
	size_t index;
	fs_timeline_thread *th = thread_of(t, tid, &index);
	if (!th) {
		drop(t, count);
		return;
	}
	if (name && strncmp(th->name, name, sizeof(th->name) - 1))
		snprintf(th->name, sizeof(th->name), "%s", name);
	while (count) {
		uint16_t part = count > UINT16_MAX ? UINT16_MAX : (uint16_t)count;
		fs_timeline_entry *last = th->last != UINT32_MAX ? &t->entries[th->last] : NULL;
		if (last && last->node == node && last->count <= UINT16_MAX - part) {
			last->count += part;
			count -= part;
			continue;
		}
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 4096;
			if (cap > t->max)
				cap = t->max;
			fs_timeline_entry *grown = cap > t->cap ? realloc(t->entries, cap * sizeof(*grown))
							       : NULL;
			if (!grown) {
				t->full = true;
				drop(t, count);
				return;
			}
			t->entries = grown;
			t->cap = cap;
		}
		t->entries[t->n] = (fs_timeline_entry){ node, (uint16_t)index, part };
		th->last = (uint32_t)t->n++;
		count -= part;
	}
}

const fs_timeline_entry *timeline__entries(const fs_timeline *t, size_t *n)
{
	*n = t ? t->n : 0;
	return t ? t->entries : NULL;
}

const fs_timeline_thread *timeline__threads(const fs_timeline *t, size_t *n)
{
	*n = t ? t->n_threads : 0;
	return t ? t->threads : NULL;
}

uint64_t timeline__dropped(const fs_timeline *t)
{
	return t ? t->dropped : 0;
}
