/* The speedscope writer (https://www.speedscope.app/file-format-schema.json). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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
