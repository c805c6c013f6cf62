/* The raw writer: folded stacks, py-spy's format. */
#include <errno.h>
#include <stdlib.h>

#include "filspy/writers.h"

/* ';' separates frames and '\n' lines: neither may appear inside a frame */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == ';' ? ':' : (*s == '\n' || *s == '\r') ? ' ' : *s, f);
}

static void put_frame(FILE *f, const fs_frame *fr)
{
	put_clean(f, fr->name);
	if (fr->file[0]) {
		fputs(" (", f);
		put_clean(f, fr->file);
		if (fr->line > 0)
			fprintf(f, ":%d", fr->line);
		fputc(')', f);
	}
}

int out_raw__write(fs_profile *p, const fs_profile_meta *meta, FILE *f)
{
	size_t n = profile__node_count(p), cap = 64, depth;
	fs_node_id *path = malloc(cap * sizeof(*path));
	if (!path)
		return -ENOMEM;
	for (size_t i = 1; i < n; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		if (!node->self)
			continue;
		depth = 0;
		for (fs_node_id at = (fs_node_id)i; at != FS_ROOT_NODE; at = profile__node(p, at)->parent) {
			if (depth == cap) {
				fs_node_id *grown = realloc(path, cap * 2 * sizeof(*path));
				if (!grown) {
					free(path);
					return -ENOMEM;
				}
				path = grown;
				cap *= 2;
			}
			path[depth++] = at;
		}
		while (depth--) {
			put_frame(f, profile__frame(p, profile__node(p, path[depth])->frame));
			fputc(depth ? ';' : ' ', f);
		}
		fprintf(f, "%llu\n", (unsigned long long)node->self);
	}
	free(path);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}

