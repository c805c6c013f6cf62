/* Held samples of idle threads: see idlehold.h. A count per sample is the number of
 * rounds since it was last flushed, from one round counter, so a round costs the
 * same however many threads sleep. */
#include <stdlib.h>
#include <string.h>

#include "sampling/idlehold.h"

struct held {
	int tid;
	size_t n;
	uint64_t since;            /* rounds counted into the profile up to here */
	fs_frame_id *ids;          /* the profile's frames, root first */
};

struct idlehold {
	struct held *h;
	int n, size;
	uint64_t rounds;
};

idlehold *idlehold__new(void)
{
	return calloc(1, sizeof(idlehold));
}

static void forget(idlehold *h)
{
	for (int i = 0; i < h->n; i++)
		free(h->h[i].ids);
	h->n = 0;
}

void idlehold__free(idlehold *h)
{
	if (!h)
		return;
	forget(h);
	free(h->h);
	free(h);
}

bool idlehold__keep(idlehold *h, int tid, const stack_builder *b)
{
	if (!b->n_ids)
		return false;
	if (h->n == h->size) {
		int size = h->size ? h->size * 2 : 64;
		struct held *grown = realloc(h->h, (size_t)size * sizeof(*grown));
		if (!grown)
			return false;
		h->h = grown;
		h->size = size;
	}
	fs_frame_id *copy = malloc(b->n_ids * sizeof(*copy));
	if (!copy)
		return false;
	memcpy(copy, b->ids, b->n_ids * sizeof(*copy));
	h->h[h->n++] = (struct held){ tid, b->n_ids, h->rounds, copy };
	return true;
}

void idlehold__tick(idlehold *h)
{
	h->rounds++;
}

void idlehold__flush(idlehold *h, fs_agent *a)
{
	for (int i = 0; i < h->n; i++) {
		struct held *e = &h->h[i];
		if (h->rounds > e->since)
			stacks__add_again(a, e->tid, e->ids, e->n, h->rounds - e->since);
		e->since = h->rounds;
	}
}

void idlehold__clear(idlehold *h, fs_agent *a)
{
	idlehold__flush(h, a);
	forget(h);
}
