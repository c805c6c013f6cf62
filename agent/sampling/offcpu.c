/* Off-CPU stops by tid: open addressing with linear probing, deleted by shifting
 * the entries of the same probe run back (no tombstones to fill the table). */
#include <stdlib.h>
#include <string.h>

#include "filspy/rng.h"
#include "sampling/offcpu.h"

struct offcpu_table {
	int slots;                 /* a power of two, twice the threads allowed */
	int used;
	uint64_t random;           /* xorshift64 state for the rounding */
	offcpu_stop entries[];
};

offcpu_table *offcpu__new(int max_threads)
{
	int slots = 16;
	while (slots < 2 * max_threads)
		slots *= 2;
	offcpu_table *t = calloc(1, sizeof(*t) + (size_t)slots * sizeof(offcpu_stop));
	if (t) {
		t->slots = slots;
		t->random = 0x9e3779b97f4a7c15ULL;
	}
	return t;
}

void offcpu__free(offcpu_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->slots; i++) {
		free(t->entries[i].frames);
		free(t->entries[i].checks);
		free(t->entries[i].items);
	}
	free(t);
}

static int home(const offcpu_table *t, int tid)
{
	return (int)(((unsigned)tid * 2654435761u) & (unsigned)(t->slots - 1));
}

offcpu_stop *offcpu__find(offcpu_table *t, int tid)
{
	for (int i = home(t, tid);; i = (i + 1) & (t->slots - 1)) {
		if (t->entries[i].tid == tid)
			return &t->entries[i];
		if (!t->entries[i].tid)
			return NULL;
	}
}

static bool reserve(offcpu_stop *e, int depth)
{
	if (depth <= e->capacity)
		return true;
	int capacity = e->capacity ? e->capacity : 64;
	while (capacity < depth)
		capacity *= 2;
	py_frame_ref *frames = realloc(e->frames, (size_t)capacity * sizeof(*frames));
	if (frames)
		e->frames = frames;
	uint32_t *checks = realloc(e->checks, (size_t)capacity * sizeof(*checks));
	if (checks)
		e->checks = checks;
	if (!frames || !checks)
		return false;
	e->capacity = capacity;
	return true;
}

offcpu_stop *offcpu__prepare(offcpu_table *t, int tid, int depth)
{
	offcpu_stop *e = offcpu__find(t, tid);
	if (!e) {
		if (t->used >= t->slots / 2)
			return NULL;
		int i = home(t, tid);
		while (t->entries[i].tid)
			i = (i + 1) & (t->slots - 1);
		e = &t->entries[i];
		e->tid = tid;
		t->used++;
	}
	return reserve(e, depth) ? e : NULL;
}

int offcpu__keep_items(offcpu_stop *e, const stack_item *items, size_t n)
{
	e->n_items = 0;
	if (n > e->items_capacity) {
		stack_item *grown = realloc(e->items, n * sizeof(*grown));
		if (!grown)
			return -1;
		e->items = grown;
		e->items_capacity = n;
	}
	if (n)
		memcpy(e->items, items, n * sizeof(*items));
	e->n_items = n;
	return 0;
}

void offcpu__forget(offcpu_table *t, int tid)
{
	offcpu_stop *e = offcpu__find(t, tid);
	if (!e)
		return;
	free(e->frames);
	free(e->checks);
	free(e->items);
	int hole = (int)(e - t->entries);
	t->entries[hole] = (offcpu_stop){ 0 };
	t->used--;
	/* move back every later entry of the run whose home is not between the hole
	 * and its slot, so that lookups still find it */
	for (int i = (hole + 1) & (t->slots - 1); t->entries[i].tid; i = (i + 1) & (t->slots - 1)) {
		int h = home(t, t->entries[i].tid);
		bool reachable = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
		if (reachable)
			continue;
		t->entries[hole] = t->entries[i];
		t->entries[i] = (offcpu_stop){ 0 };
		hole = i;
	}
}

offcpu_stop *offcpu__each(offcpu_table *t, int *cursor)
{
	while (*cursor < t->slots) {
		offcpu_stop *e = &t->entries[(*cursor)++];
		if (e->tid)
			return e;
	}
	return NULL;
}

uint64_t offcpu__samples(offcpu_table *t, uint64_t ns, uint64_t period_ns)
{
	if (!period_ns)
		return 0;
	return ns / period_ns + (rng__next(&t->random) % period_ns < ns % period_ns ? 1 : 0);
}
