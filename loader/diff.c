/* `filspy diff BEFORE AFTER -o diff.svg`: a differential flamegraph (widths from
 * AFTER, red where a frame's own share grew, blue where it shrank), frames matched
 * by function (--by line: by function and line), and a table of the functions
 * that changed most for CI logs (loader/diff_table.c). */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "diff_table.h"
#include "filspy/hash.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "report.h"

#define EXIT_USAGE 2
#define TOP_DEFAULT 10

struct keyed {
	uint64_t key;
	uint64_t self;
};


/* A node's identity across profiles: its path of frame texts, hashed. Parents
 * come before children, so one pass fills every key. */
static uint64_t *path_keys(fs_profile *p)
{
	size_t n = profile__node_count(p);
	uint64_t *keys = malloc(n * sizeof(*keys));
	if (!keys)
		return NULL;
	keys[0] = 0xcbf29ce484222325ULL;
	for (size_t i = 1; i < n; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		const fs_frame *fr = profile__frame(p, node->frame);
		uint64_t h = hash__field(hash__field(keys[node->parent], fr->name), fr->file);
		keys[i] = (h ^ (uint64_t)(uint32_t)fr->line) * 0x100000001b3ULL;
	}
	return keys;
}

static int by_key(const void *a, const void *b)
{
	uint64_t x = ((const struct keyed *)a)->key, y = ((const struct keyed *)b)->key;
	return (x > y) - (x < y);
}

static uint64_t lookup(const struct keyed *sorted, size_t n, uint64_t key)
{
	struct keyed probe = { key, 0 };
	const struct keyed *hit = bsearch(&probe, sorted, n, sizeof(*sorted), by_key);
	return hit ? hit->self : 0;
}

/* red for growth, blue for shrinkage, white for no change; strength by |delta| */
static uint32_t diff_colour(double delta, double max_abs)
{
	double t = max_abs > 0 ? fabs(delta) / max_abs : 0;
	int fade = 255 - (int)(t * 200);
	if (delta > 0)
		return 255u << 16 | (uint32_t)fade << 8 | (uint32_t)fade;
	if (delta < 0)
		return (uint32_t)fade << 16 | (uint32_t)fade << 8 | 255u;
	return 0xf0f0f0;
}

struct svg_job {
	fs_profile *p;
	fs_profile_meta meta;
};

static int write_svg(void *ctx, FILE *f)
{
	struct svg_job *j = ctx;
	return out_svg__write(j->p, &j->meta, f);
}

int diff__main(int argc, char **argv)
{
	const char *before_path = NULL, *after_path = NULL, *out = NULL;
	int top = TOP_DEFAULT;
	bool by_line = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
			out = v;
			i++;
		} else if (!strcmp(a, "--top") && v) {
			top = atoi(v);
			i++;
		} else if (!strcmp(a, "--by") && v) {
			by_line = !strcmp(v, "line");
			i++;
		} else if (a[0] == '-' && a[1]) {
			fs_error("diff: unknown option or missing value: %s", a);
			return EXIT_USAGE;
		} else if (!before_path) {
			before_path = a;
		} else if (!after_path) {
			after_path = a;
		} else {
			fs_error("diff: two profiles only");
			return EXIT_USAGE;
		}
	}
	if (!before_path || !after_path || !out) {
		fs_error("diff: name BEFORE, AFTER and -o DIFF.svg (see filspy diff --help)");
		return EXIT_USAGE;
	}
	fs_profile *before = NULL, *after = NULL;
	if (report__load_by(before_path, by_line, &before) < 0 ||
	    report__load_by(after_path, by_line, &after) < 0) {
		profile__free(before);
		return EXIT_USAGE;
	}
	profile__finish_totals(before);
	profile__finish_totals(after);
	size_t nb = profile__node_count(before), na = profile__node_count(after);
	uint64_t sum_b = profile__node(before, FS_ROOT_NODE)->total;
	uint64_t sum_a = profile__node(after, FS_ROOT_NODE)->total;
	uint64_t *kb = path_keys(before), *ka = path_keys(after);
	struct keyed *sorted = malloc(nb * sizeof(*sorted));
	uint32_t *rgb = malloc(na * sizeof(*rgb));
	double *delta = malloc(na * sizeof(*delta));
	int status = 1;
	if (!kb || !ka || !sorted || !rgb || !delta) {
		fs_error("diff: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nb; i++)
		sorted[i] = (struct keyed){ kb[i], profile__node(before, (fs_node_id)i)->self };
	qsort(sorted, nb, sizeof(*sorted), by_key);
	double max_abs = 0;
	for (size_t i = 0; i < na; i++) {
		double a = sum_a ? 100.0 * (double)profile__node(after, (fs_node_id)i)->self / (double)sum_a : 0;
		double b = sum_b ? 100.0 * (double)lookup(sorted, nb, ka[i]) / (double)sum_b : 0;
		delta[i] = i ? a - b : 0;
		if (fabs(delta[i]) > max_abs)
			max_abs = fabs(delta[i]);
	}
	/* full colour at 5 points or more: a change of noise's size stays pale */
	if (max_abs < 5.0)
		max_abs = 5.0;
	for (size_t i = 0; i < na; i++)
		rgb[i] = diff_colour(delta[i], max_abs);
	char title[512];
	snprintf(title, sizeof(title), "Differential flame graph: %s -> %s", before_path, after_path);
	struct svg_job job = { after, { .title = title, .node_rgb = rgb, .node_delta = delta } };
	if (report__write_file(out, write_svg, &job) == 0) {
		status = diff_table__print(before, after, by_line, top) < 0 ? 1 : 0;
	}
out:
	free(kb);
	free(ka);
	free(sorted);
	free(rgb);
	free(delta);
	profile__free(before);
	profile__free(after);
	return status;
}
