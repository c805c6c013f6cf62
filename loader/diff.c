/* `filspy diff BEFORE AFTER -o diff.svg`: a differential flamegraph (widths from
 * AFTER, red where a frame's share grew, blue where it shrank) and the top
 * regressions as text for CI logs. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "filspy/hash.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "report.h"

#define EXIT_USAGE 2
#define TOP_DEFAULT 10

struct keyed {
	uint64_t key;
	uint64_t total;
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
	return hit ? hit->total : 0;
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

struct change {
	const char *name;
	double delta, before, after;
};

static int by_delta(const void *a, const void *b)
{
	double x = ((const struct change *)a)->delta, y = ((const struct change *)b)->delta;
	return (x < y) - (x > y);
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

static void usage(FILE *f)
{
	fprintf(f, "usage: filspy diff BEFORE AFTER -o DIFF.svg [--top N]\n"
		   "  BEFORE, AFTER: raw profiles (folded stacks, ours or py-spy's)\n"
		   "  widths come from AFTER; red: a larger share of samples than in BEFORE,\n"
		   "  blue: a smaller one; the N frames that grew most are printed (10)\n");
}

/* Prints the frames whose inclusive share grew most, merged by frame text. */
static void print_regressions(fs_profile *after, const double *delta, const double *share_after,
			      int top)
{
	size_t n = profile__node_count(after);
	struct change *c = calloc(n, sizeof(*c));
	size_t k = 0;
	if (!c)
		return;
	for (size_t i = 1; i < n; i++) {
		const fs_frame *fr = profile__frame(after, profile__node(after, (fs_node_id)i)->frame);
		c[k++] = (struct change){ fr->name, delta[i], share_after[i] - delta[i], share_after[i] };
	}
	qsort(c, k, sizeof(*c), by_delta);
	printf("filspy diff: frames whose share of samples grew most (points of all samples):\n");
	int shown = 0;
	for (size_t i = 0; i < k && shown < top; i++) {
		if (c[i].delta <= 0.005)
			break;
		/* the same function along several paths: show its largest change once */
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c[j].delta > 0.005 && !strcmp(c[j].name, c[i].name);
		if (seen)
			continue;
		printf("  %+6.2f  %6.2f%% -> %6.2f%%  %s\n", c[i].delta, c[i].before, c[i].after, c[i].name);
		shown++;
	}
	if (!shown)
		printf("  (none)\n");
	free(c);
}

int diff__main(int argc, char **argv)
{
	const char *before_path = NULL, *after_path = NULL, *out = NULL;
	int top = TOP_DEFAULT;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
			out = v;
			i++;
		} else if (!strcmp(a, "--top") && v) {
			top = atoi(v);
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
	if (report__load(before_path, &before) < 0 || report__load(after_path, &after) < 0) {
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
	double *delta = malloc(na * sizeof(*delta)), *share = malloc(na * sizeof(*share));
	int status = 1;
	if (!kb || !ka || !sorted || !rgb || !delta || !share) {
		fs_error("diff: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nb; i++)
		sorted[i] = (struct keyed){ kb[i], profile__node(before, (fs_node_id)i)->total };
	qsort(sorted, nb, sizeof(*sorted), by_key);
	double max_abs = 0;
	for (size_t i = 0; i < na; i++) {
		double a = sum_a ? 100.0 * (double)profile__node(after, (fs_node_id)i)->total / (double)sum_a : 0;
		double b = sum_b ? 100.0 * (double)lookup(sorted, nb, ka[i]) / (double)sum_b : 0;
		share[i] = a;
		delta[i] = i ? a - b : 0;
		if (fabs(delta[i]) > max_abs)
			max_abs = fabs(delta[i]);
	}
	for (size_t i = 0; i < na; i++)
		rgb[i] = diff_colour(delta[i], max_abs);
	char title[512];
	snprintf(title, sizeof(title), "Differential flame graph: %s -> %s", before_path, after_path);
	struct svg_job job = { after, { .title = title, .node_rgb = rgb, .node_delta = delta } };
	if (report__write_file(out, write_svg, &job) == 0) {
		print_regressions(after, delta, share, top);
		status = 0;
	}
out:
	free(kb);
	free(ka);
	free(sorted);
	free(rgb);
	free(delta);
	free(share);
	profile__free(before);
	profile__free(after);
	return status;
}
