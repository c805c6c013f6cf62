/* The table `filspy diff` prints for CI logs: per function, its own and total
 * share of samples before and after, the largest changes either way first. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/hash.h"
#include "diff_table.h"

struct fn {
	uint64_t key;
	const char *name, *file;
	int line;
	double own[2], total[2]; /* percent; [0] before, [1] after */
};

static uint64_t key_of(const fs_frame *fr, bool by_line)
{
	uint64_t h = hash__field(hash__field(HASH_FNV_OFFSET, fr->name), fr->file);
	return by_line ? (h ^ (uint64_t)(uint32_t)fr->line) * 0x100000001b3ULL : h;
}

struct table {
	struct fn *v;
	size_t n, cap;
};

/* the row of key, added when new (a linear probe would do as well: profiles hold
 * a few thousand functions) */
static struct fn *row(struct table *t, uint64_t key, const fs_frame *fr)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].key == key)
			return &t->v[i];
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		struct fn *g = realloc(t->v, cap * sizeof(*g));
		if (!g)
			return NULL;
		t->v = g;
		t->cap = cap;
	}
	t->v[t->n] = (struct fn){ key, fr->name, fr->file, fr->line, { 0, 0 }, { 0, 0 } };
	return &t->v[t->n++];
}

static int add_profile(struct table *t, fs_profile *p, int side, bool by_line)
{
	size_t n = profile__node_count(p);
	double sum = (double)profile__node(p, FS_ROOT_NODE)->total;
	uint64_t *keys = malloc(n * sizeof(*keys));
	if (!keys || sum <= 0) {
		free(keys);
		return keys ? 0 : -ENOMEM;
	}
	for (size_t i = 1; i < n; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		const fs_frame *fr = profile__frame(p, node->frame);
		keys[i] = key_of(fr, by_line);
		struct fn *f = row(t, keys[i], fr);
		if (!f) {
			free(keys);
			return -ENOMEM;
		}
		f->own[side] += 100.0 * (double)node->self / sum;
		/* a recursive function counts once per sample: only its outermost node */
		bool outer = true;
		for (fs_node_id a = node->parent; a != FS_ROOT_NODE && outer;
		     a = profile__node(p, a)->parent)
			outer = keys[a] != keys[i];
		if (outer)
			f->total[side] += 100.0 * (double)node->total / sum;
	}
	free(keys);
	return 0;
}

static double change(const struct fn *f)
{
	double own = fabs(f->own[1] - f->own[0]), total = fabs(f->total[1] - f->total[0]);
	return own > total ? own : total;
}

static int by_change(const void *a, const void *b)
{
	double x = change(a), y = change(b);
	return (x < y) - (x > y);
}

int diff_table__print(fs_profile *before, fs_profile *after, bool by_line, int top)
{
	struct table t = { 0 };
	if (add_profile(&t, before, 0, by_line) < 0 || add_profile(&t, after, 1, by_line) < 0) {
		free(t.v);
		return -ENOMEM;
	}
	qsort(t.v, t.n, sizeof(*t.v), by_change);
	printf("filspy diff: functions%s by change in their share of samples, the largest "
	       "either way first (at most %d;\nown: as the leaf, total: on the stack, in %% of "
	       "each profile's samples):\n"
	       "  %7s %7s %7s  %7s %7s %7s  function\n", by_line ? " and lines" : "", top,
	       "own", "before", "after", "total", "before", "after");
	int shown = 0;
	for (size_t i = 0; i < t.n && shown < top; i++, shown++) {
		const struct fn *f = &t.v[i];
		if (change(f) < 0.005)
			break;
		char where[64] = "";
		if (*f->file && f->line && by_line)
			snprintf(where, sizeof(where), " (%s:%d)", f->file, f->line);
		else if (*f->file)
			snprintf(where, sizeof(where), " (%s)", f->file);
		printf("  %+7.2f %6.2f%% %6.2f%%  %+7.2f %6.2f%% %6.2f%%  %s%s\n",
		       f->own[1] - f->own[0], f->own[0], f->own[1], f->total[1] - f->total[0],
		       f->total[0], f->total[1], f->name, where);
	}
	if (!shown)
		printf("  (no change)\n");
	free(t.v);
	return 0;
}
