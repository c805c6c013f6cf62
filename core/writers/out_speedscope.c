/* The speedscope writer (https://www.speedscope.app/file-format-schema.json). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/timeline.h"
#include "filspy/writers.h"

static void put_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static bool is_thread_root(const fs_frame *fr)
{
	return fr->origin == FS_ORIGIN_SPECIAL && !strncmp(fr->name, "thread (", 8);
}

/* Writes the samples under top (top itself left out when skip_top: a thread root)
 * as one sampled profile. Samples and weights are built side by side. */
static int put_profile(fs_profile *p, const char *name, fs_node_id top, bool skip_top,
		       double seconds_per_sample, FILE *f)
{
	size_t n = profile__node_count(p), cap = 64;
	fs_node_id *path = malloc(sizeof(*path) * cap);
	char *weights = NULL;
	size_t weights_len = 0;
	FILE *w = open_memstream(&weights, &weights_len);
	if (!path || !w) {
		free(path);
		if (w)
			fclose(w);
		free(weights);
		return -ENOMEM;
	}
	fputs("{\"type\":\"sampled\",\"name\":", f);
	put_json_string(f, name);
	fprintf(f, ",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":%.6f,\"samples\":[",
		(double)profile__node(p, top)->total * seconds_per_sample);
	bool first = true;
	for (size_t i = 1; i < n; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		if (!node->self)
			continue;
		size_t depth = 0;
		bool inside = top == FS_ROOT_NODE;
		for (fs_node_id at = (fs_node_id)i; at != FS_ROOT_NODE; at = profile__node(p, at)->parent) {
			if (at == top) {
				inside = true;
				if (skip_top)
					break;
			}
			if (depth == cap) {
				fs_node_id *g = realloc(path, sizeof(*path) * cap * 2);
				if (!g)
					break;
				path = g;
				cap *= 2;
			}
			path[depth++] = at;
			if (at == top)
				break;
		}
		if (!inside || !depth)
			continue;
		fputs(first ? "[" : ",[", f);
		fprintf(w, "%s%.6f", first ? "" : ",", (double)node->self * seconds_per_sample);
		first = false;
		while (depth--)
			fprintf(f, "%u%s", profile__node(p, path[depth])->frame, depth ? "," : "");
		fputc(']', f);
	}
	fclose(w);
	fprintf(f, "],\"weights\":[%s]}", weights ? weights : "");
	free(weights);
	free(path);
	return 0;
}

/* The path of node (root first, a thread root left out) into path; returns its
 * depth, or -1 when out of memory. */
static long path_of(fs_profile *p, fs_node_id node, fs_node_id **path, size_t *cap)
{
	size_t depth = 0;
	for (fs_node_id at = node; at != FS_ROOT_NODE; at = profile__node(p, at)->parent) {
		if (depth == *cap) {
			fs_node_id *g = realloc(*path, sizeof(**path) * *cap * 2);
			if (!g)
				return -1;
			*path = g;
			*cap *= 2;
		}
		(*path)[depth++] = at;
	}
	if (depth && is_thread_root(profile__frame(p, profile__node(p, (*path)[depth - 1])->frame)))
		depth--;
	return (long)depth;
}

/* Writes the frame ids of path[depth-1] .. path[0] as "[a,b,c]" (after a ',' unless
 * first): the bulk of a time-ordered file, so no printf per number. */
static void put_sample(FILE *f, fs_profile *p, const fs_node_id *path, long depth, bool first)
{
	char buf[4096];
	size_t at = 0;
	if (!first)
		buf[at++] = ',';
	buf[at++] = '[';
	while (depth-- > 0) {
		if (at > sizeof(buf) - 16) {
			fwrite(buf, 1, at, f);
			at = 0;
		}
		char digits[12];
		int n = 0;
		for (uint32_t v = profile__node(p, path[depth])->frame; n == 0 || v; v /= 10)
			digits[n++] = (char)('0' + v % 10);
		while (n)
			buf[at++] = digits[--n];
		if (depth)
			buf[at++] = ',';
	}
	buf[at++] = ']';
	fwrite(buf, 1, at, f);
}

/* One sampled profile per thread with its samples in the order taken (py-spy's
 * shape: speedscope's Time Order view plays them back), then, when the timeline's
 * cap left samples out, one profile of those, aggregated. */
static int put_timeline(fs_profile *p, const fs_timeline *t, double per, FILE *f)
{
	size_t n_entries, n_threads, cap = 64;
	const fs_timeline_entry *entries = timeline__entries(t, &n_entries);
	const fs_timeline_thread *threads = timeline__threads(t, &n_threads);
	fs_node_id *path = malloc(sizeof(*path) * cap);
	uint64_t *ordered = timeline__dropped(t) ? calloc(profile__node_count(p), sizeof(uint64_t))
						 : NULL;
	if (!path || (timeline__dropped(t) && !ordered)) {
		free(path);
		free(ordered);
		return -ENOMEM;
	}
	/* entries grouped by thread, in order within each: one counting sort */
	uint32_t *start = calloc(n_threads + 1, sizeof(*start));
	uint32_t *order = malloc(sizeof(*order) * (n_entries ? n_entries : 1));
	if (!start || !order) {
		free(start);
		free(order);
		free(path);
		free(ordered);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_entries; i++)
		start[entries[i].thread + 1]++;
	for (size_t th = 0; th < n_threads; th++)
		start[th + 1] += start[th];
	for (size_t i = 0; i < n_entries; i++)
		order[start[entries[i].thread]++] = (uint32_t)i;
	/* start[th] is now the end of thread th's slice, start[th - 1] its beginning */
	int err = 0;
	for (size_t th = 0; th < n_threads && !err; th++) {
		uint32_t lo = th ? start[th - 1] : 0, hi = start[th];
		uint64_t total = 0;
		for (uint32_t k = lo; k < hi; k++)
			total += entries[order[k]].count;
		char name[TIMELINE_NAME_LEN + 32];
		snprintf(name, sizeof(name), "thread (%d): %s", threads[th].tid, threads[th].name);
		fputs(th ? ",{\"type\":\"sampled\",\"name\":" : "{\"type\":\"sampled\",\"name\":", f);
		put_json_string(f, name);
		fprintf(f, ",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":%.6f,\"samples\":[",
			(double)total * per);
		for (uint32_t k = lo; k < hi; k++) {
			const fs_timeline_entry *e = &entries[order[k]];
			long depth = path_of(p, e->node, &path, &cap);
			if (depth < 0) {
				err = -ENOMEM;
				break;
			}
			if (ordered)
				ordered[e->node] += e->count;
			put_sample(f, p, path, depth, k == lo);
		}
		fputs("],\"weights\":[", f);
		for (uint32_t k = lo; k < hi; k++)
			fprintf(f, "%s%.6f", k > lo ? "," : "", entries[order[k]].count * per);
		fputs("]}", f);
	}
	free(start);
	free(order);
	if (!err && ordered) {
		/* what the cap left out: each node's samples minus those in the order */
		fputs(n_threads ? ",{\"type\":\"sampled\",\"name\":" : "{\"type\":\"sampled\",\"name\":", f);
		put_json_string(f, "samples after the time-order cap (aggregated)");
		fprintf(f, ",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":%.6f,\"samples\":[",
			(double)timeline__dropped(t) * per);
		char *weights = NULL;
		size_t weights_len = 0;
		FILE *w = open_memstream(&weights, &weights_len);
		bool first = true;
		for (size_t i = 1; w && i < profile__node_count(p); i++) {
			const fs_node *node = profile__node(p, (fs_node_id)i);
			if (node->self <= ordered[i])
				continue;
			long depth = path_of(p, (fs_node_id)i, &path, &cap);
			if (depth <= 0)
				continue;
			fputs(first ? "[" : ",[", f);
			fprintf(w, "%s%.6f", first ? "" : ",", (double)(node->self - ordered[i]) * per);
			first = false;
			while (depth-- > 0)
				fprintf(f, "%u%s", profile__node(p, path[depth])->frame, depth ? "," : "");
			fputc(']', f);
		}
		if (w)
			fclose(w);
		fprintf(f, "],\"weights\":[%s]}", weights ? weights : "");
		free(weights);
		if (!w)
			err = -ENOMEM;
	}
	free(ordered);
	free(path);
	return err;
}

int out_speedscope__write(fs_profile *p, const fs_profile_meta *meta, FILE *f)
{
	double per = 1.0 / (meta && meta->rate_hz > 0 ? meta->rate_hz : 100);
	profile__finish_totals(p);
	fputs("{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
	      "\"exporter\":\"filspy\",\"name\":", f);
	put_json_string(f, meta && meta->title && *meta->title ? meta->title : "filspy profile");
	fputs(",\"activeProfileIndex\":0,\"shared\":{\"frames\":[", f);
	for (size_t i = 0; i < profile__frame_count(p); i++) {
		const fs_frame *fr = profile__frame(p, (fs_frame_id)i);
		fputs(i ? ",{\"name\":" : "{\"name\":", f);
		put_json_string(f, fr->name);
		if (fr->file[0]) {
			fputs(",\"file\":", f);
			put_json_string(f, fr->file);
		}
		if (fr->line > 0)
			fprintf(f, ",\"line\":%d", fr->line);
		fputc('}', f);
	}
	fputs("]},\"profiles\":[", f);
	const fs_timeline *t = profile__timeline(p);
	size_t n_threads = 0;
	timeline__threads(t, &n_threads);
	if (t && (n_threads || timeline__dropped(t))) {
		if (put_timeline(p, t, per, f) < 0)
			return -ENOMEM;
		fputs("]}\n", f);
		fflush(f);
		return ferror(f) ? -EIO : 0;
	}
	const fs_node_id *tops;
	size_t n_tops = profile__children(p, FS_ROOT_NODE, &tops);
	bool per_thread = n_tops > 0;
	for (size_t i = 0; i < n_tops; i++)
		per_thread &= is_thread_root(profile__frame(p, profile__node(p, tops[i])->frame));
	if (per_thread) {
		for (size_t i = 0; i < n_tops; i++) {
			if (i)
				fputc(',', f);
			if (put_profile(p, profile__frame(p, profile__node(p, tops[i])->frame)->name,
					tops[i], true, per, f) < 0)
				return -ENOMEM;
		}
	} else {
		if (put_profile(p, meta && meta->title && *meta->title ? meta->title : "process",
				FS_ROOT_NODE, false, per, f) < 0)
			return -ENOMEM;
	}
	fputs("]}\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
