/* The SVG writer: a self-contained interactive flamegraph in the style users know
 * from flamegraph.pl and inferno (root at the bottom, hover, zoom, search). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/writers.h"
#include "svg_script.h"

#define WIDTH 1200
#define FRAME_H 16
#define FONT 12
#define CHAR_W (0.59 * FONT)
#define PAD 10
#define TOP 64      /* title, subtitle, controls */
#define BOTTOM 34   /* details line */
#define MIN_PX 0.1  /* narrower frames are not drawn; their samples stay in the parent */
#define NOTE_H 15   /* a line of meta->notes */

/* Writes s as XML text: escaped, control characters dropped, invalid UTF-8
 * replaced, so the document stays well-formed whatever the names hold. At most
 * max_chars characters when max_chars >= 0, then "..". */
static void put_xml(FILE *f, const char *s, long max_chars)
{
	const unsigned char *c = (const unsigned char *)s;
	long chars = 0;
	while (*c) {
		if (max_chars >= 0 && chars == max_chars) {
			fputs("..", f);
			return;
		}
		unsigned n = *c < 0x80 ? 1 : (*c >> 5) == 6 ? 2 : (*c >> 4) == 14 ? 3 : (*c >> 3) == 30 ? 4 : 0;
		bool ok = n > 0;
		for (unsigned k = 1; ok && k < n; k++)
			ok = (c[k] & 0xc0) == 0x80;
		if (!ok) {
			fputs("\xef\xbf\xbd", f); /* U+FFFD */
			c++;
		} else if (n == 1) {
			switch (*c) {
			case '&': fputs("&amp;", f); break;
			case '<': fputs("&lt;", f); break;
			case '>': fputs("&gt;", f); break;
			case '"': fputs("&quot;", f); break;
			case '\'': fputs("&apos;", f); break;
			default:
				if (*c >= 0x20 || *c == '\t')
					fputc(*c, f);
			}
			c++;
		} else {
			fwrite(c, 1, n, f);
			c += n;
		}
		chars++;
	}
}

/* Number of characters (not bytes) of a UTF-8 string. */
static long utf8_chars(const char *s)
{
	long n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static uint32_t hash_name(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* inferno's python palette idea: one hue family per origin, varied by name */
static void colour(const fs_frame *fr, int *r, int *g, int *b)
{
	uint32_t h = hash_name(fr->name);
	double v1 = (h & 0xff) / 255.0, v2 = ((h >> 8) & 0xff) / 255.0;
	switch (fr->origin) {
	case FS_ORIGIN_STDLIB: /* blues */
		*r = 60 + (int)(60 * v1), *g = 150 + (int)(60 * v2), *b = 220 + (int)(30 * v1);
		break;
	case FS_ORIGIN_PACKAGE: /* greens */
		*r = 70 + (int)(70 * v1), *g = 180 + (int)(60 * v2), *b = 70 + (int)(50 * v1);
		break;
	case FS_ORIGIN_SPECIAL: /* greys */
		*r = *g = *b = 170 + (int)(40 * v1);
		break;
	default: /* the program's own code: flame colours */
		*r = 205 + (int)(50 * v1), *g = 60 + (int)(170 * v2), *b = (int)(55 * v1);
	}
}

static void put_name(FILE *f, const fs_frame *fr)
{
	put_xml(f, fr->name, -1);
	if (fr->file[0]) {
		fputs(" (", f);
		put_xml(f, fr->file, -1);
		if (fr->line > 0)
			fprintf(f, ":%d", fr->line);
		fputc(')', f);
	}
}

struct item {
	fs_node_id node;
	uint64_t x;   /* samples before this node at its depth */
	int depth;
};

static int max_depth(fs_profile *p, double scale)
{
	size_t n = profile__node_count(p);
	int *depth = calloc(n ? n : 1, sizeof(int)), deepest = 0;
	if (!depth)
		return -1;
	for (size_t i = 1; i < n; i++) {
		const fs_node *node = profile__node(p, (fs_node_id)i);
		depth[i] = depth[node->parent] + 1;
		if ((double)node->total * scale >= MIN_PX && depth[i] > deepest)
			deepest = depth[i];
	}
	free(depth);
	return deepest;
}

static void put_frame(FILE *f, fs_profile *p, const struct item *it, const char *name_override,
		      double scale, int height, uint64_t total, const fs_profile_meta *meta)
{
	const fs_node *node = profile__node(p, it->node);
	const fs_frame *fr = it->node == FS_ROOT_NODE ? NULL : profile__frame(p, node->frame);
	double x = PAD + (double)it->x * scale, w = (double)node->total * scale;
	int y = height - BOTTOM - (it->depth + 1) * FRAME_H;
	int r = 200, g = 200, b = 200;
	if (meta && meta->node_rgb) {
		uint32_t rgb = meta->node_rgb[it->node];
		r = (int)(rgb >> 16), g = (int)((rgb >> 8) & 0xff), b = (int)(rgb & 0xff);
	} else if (fr) {
		colour(fr, &r, &g, &b);
	}
	fprintf(f, "<g class=\"frame\" data-x=\"%llu\" data-w=\"%llu\" data-d=\"%d\" data-name=\"",
		(unsigned long long)it->x, (unsigned long long)node->total, it->depth);
	if (fr)
		put_name(f, fr);
	else
		put_xml(f, name_override, -1);
	fputs("\"><title>", f);
	if (fr)
		put_name(f, fr);
	else
		put_xml(f, name_override, -1);
	fprintf(f, " (%llu sample%s, %.2f%%", (unsigned long long)node->total,
		node->total == 1 ? "" : "s", total ? 100.0 * (double)node->total / (double)total : 0.0);
	if (meta && meta->node_delta)
		fprintf(f, ", %+.2f points", meta->node_delta[it->node]);
	fputs(")</title>", f);
	fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"rgb(%d,%d,%d)\" "
		   "rx=\"2\" ry=\"2\"/>", x, y, w, FRAME_H - 1, r, g, b);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + FRAME_H - 4.5);
	long fit = (long)((w - 6) / CHAR_W);
	if (fit >= 3) {
		/* the label is the name as in the title, cut to the width */
		char *label = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&label, &len);
		if (m) {
			if (fr) {
				fputs(fr->name, m);
				if (fr->file[0])
					fr->line > 0 ? fprintf(m, " (%s:%d)", fr->file, fr->line)
						     : fprintf(m, " (%s)", fr->file);
			} else {
				fputs(name_override, m);
			}
			fclose(m);
			put_xml(f, label, utf8_chars(label) <= fit ? -1 : fit - 2);
			free(label);
		}
	}
	fputs("</text></g>\n", f);
}

static int note_lines(const fs_profile_meta *meta)
{
	if (!meta || !meta->notes || !*meta->notes)
		return 0;
	int n = 1;
	for (const char *c = meta->notes; *c; c++)
		n += *c == '\n' && c[1];
	return n;
}

/* The notes, one <text> per line, under the controls: white space kept as it is,
 * so columns line up in the fixed-width font. */
static void put_notes(FILE *f, const fs_profile_meta *meta)
{
	int n = note_lines(meta);
	const char *line = n ? meta->notes : NULL;
	for (int i = 0; i < n && line; i++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *copy = strndup(line, len);
		if (!copy)
			return;
		fprintf(f, "<text class=\"note\" x=\"%d\" y=\"%d\" xml:space=\"preserve\" "
			   "style=\"font-family: monospace; white-space: pre\">", PAD,
			TOP + 4 + (i + 1) * NOTE_H - 4);
		put_xml(f, copy, 400);
		fputs("</text>\n", f);
		free(copy);
		line = nl ? nl + 1 : NULL;
	}
}

static void put_header(FILE *f, const fs_profile_meta *meta, int height, uint64_t total)
{
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		   "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		   "height=\"%d\" viewBox=\"0 0 %d %d\" data-pad=\"%d\" data-total=\"%llu\">\n",
		WIDTH, height, WIDTH, height, PAD, (unsigned long long)total);
	fputs("<style type=\"text/css\"><![CDATA[\n" SVG_STYLE "]]></style>\n", f);
	fputs("<script type=\"text/ecmascript\"><![CDATA[\n" SVG_SCRIPT "]]></script>\n", f);
	fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#f8f8f4\"/>\n", WIDTH, height);
	fprintf(f, "<text id=\"title\" x=\"%d\" y=\"24\">", WIDTH / 2);
	put_xml(f, meta && meta->title && *meta->title ? meta->title : "Flame Graph", 160);
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"subtitle\" x=\"%d\" y=\"42\">", WIDTH / 2);
	bool any = false;
	if (meta && meta->backend && *meta->backend) {
		fputs("backend ", f);
		put_xml(f, meta->backend, 40);
		any = true;
	}
	if (meta && meta->rate_hz > 0) {
		fprintf(f, "%s%d Hz", any ? ", " : "", meta->rate_hz);
		any = true;
	}
	fprintf(f, "%s%llu samples", any ? ", " : "", (unsigned long long)total);
	if (meta && meta->duration_s > 0)
		fprintf(f, ", %.1f s", meta->duration_s);
	char losses[96];
	if (*writers__losses(meta, losses, sizeof(losses)))
		fprintf(f, " (%s)", losses);
	fputs("</text>\n", f);
	fprintf(f, "<text id=\"reset\" class=\"button hide\" x=\"%d\" y=\"58\">Reset Zoom</text>\n", PAD);
	fprintf(f, "<text id=\"search\" class=\"button\" x=\"%d\" y=\"58\">Search</text>\n", WIDTH - PAD - 120);
	fprintf(f, "<text id=\"case\" class=\"button\" x=\"%d\" y=\"58\">ic</text>\n", WIDTH - PAD - 16);
	fprintf(f, "<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n", WIDTH - PAD - 120, height - 12);
	fprintf(f, "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n", PAD, height - 12);
	put_notes(f, meta);
}

int out_svg__write(fs_profile *p, const fs_profile_meta *meta, FILE *f)
{
	profile__finish_totals(p);
	uint64_t total = profile__node(p, FS_ROOT_NODE)->total;
	double scale = total ? (double)(WIDTH - 2 * PAD) / (double)total : 0;
	int deepest = total ? max_depth(p, scale) : 0;
	if (deepest < 0)
		return -ENOMEM;
	int notes_h = note_lines(meta) ? note_lines(meta) * NOTE_H + 8 : 0;
	int height = TOP + notes_h + (deepest + 1) * FRAME_H + BOTTOM;
	if (!total)
		height = TOP + notes_h + 2 * FRAME_H + BOTTOM;
	put_header(f, meta, height, total);
	if (!total) {
		fprintf(f, "<text x=\"%d\" y=\"%d\" style=\"text-anchor: middle\">no samples were "
			   "taken (the program ran too briefly, or every thread was idle)</text>\n",
			WIDTH / 2, TOP + notes_h + FRAME_H);
		fputs("</svg>\n", f);
		fflush(f);
		return ferror(f) ? -EIO : 0;
	}

	size_t cap = 1024, n = 0;
	struct item *stack = malloc(cap * sizeof(*stack));
	if (!stack)
		return -ENOMEM;
	stack[n++] = (struct item){ FS_ROOT_NODE, 0, 0 };
	while (n) {
		struct item it = stack[--n];
		put_frame(f, p, &it, "all", scale, height, total, meta);
		const fs_node_id *kids;
		size_t k = profile__children(p, it.node, &kids);
		/* children sit side by side from the parent's left edge (its own samples
		 * leave the gap at the right); pushed in reverse, drawn left to right */
		uint64_t x = it.x;
		for (size_t i = 0; i < k; i++)
			x += profile__node(p, kids[i])->total;
		for (size_t i = k; i-- > 0;) {
			const fs_node *child = profile__node(p, kids[i]);
			x -= child->total;
			if ((double)child->total * scale < MIN_PX)
				continue;
			if (n == cap) {
				struct item *g = realloc(stack, cap * 2 * sizeof(*stack));
				if (!g) {
					free(stack);
					return -ENOMEM;
				}
				stack = g;
				cap *= 2;
			}
			stack[n++] = (struct item){ kids[i], x, it.depth + 1 };
		}
	}
	free(stack);
	fputs("</svg>\n", f);
	fflush(f);
	return ferror(f) ? -EIO : 0;
}
