/* Folded-stack reader: py-spy's raw files become profiles every writer can use. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/folded.h"
#include "filspy/hash.h"
#include "filspy/imports.h"

#define MAX_FRAMES_PER_LINE 65536

void folded__split_frame(char *frame, char **name, char **file, int *line)
{
	*name = frame;
	*file = "";
	*line = 0;
	size_t n = strlen(frame);
	if (n < 4 || frame[n - 1] != ')')
		return;
	char *open = NULL;
	for (char *p = frame + n - 1; p > frame; p--)
		if (p[0] == '(' && p[-1] == ' ') {
			open = p;
			break;
		}
	if (!open)
		return;
	frame[n - 1] = 0;
	char *colon = strrchr(open, ':');
	if (colon && colon[1]) {
		char *end;
		long v = strtol(colon + 1, &end, 10);
		if (!*end && v > 0 && v < INT32_MAX) {
			*line = (int)v;
			*colon = 0;
		}
	}
	open[-1] = 0;
	*file = open + 1;
}

static uint8_t origin_of(const char *file)
{
	if (!*file)
		return FS_ORIGIN_SPECIAL;
	if (!strncmp(file, "<frozen", 7))
		return FS_ORIGIN_STDLIB;
	return FS_ORIGIN_OWN;
}

int folded__read_imports(fs_profile *p, FILE *f, long *bad_line, bool collapse_imports)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	long number = 0;
	int err = 0;
	fs_frame_id *ids = malloc(sizeof(*ids) * 256);
	size_t ids_cap = 256;
	*bad_line = 0;
	if (!ids)
		return -ENOMEM;
	while ((len = getline(&line, &cap, f)) >= 0) {
		number++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!len)
			continue;
		char *space = strrchr(line, ' ');
		char *end;
		errno = 0;
		unsigned long long count = space ? strtoull(space + 1, &end, 10) : 0;
		if (!space || !space[1] || *end || errno || count == 0 || space[1] == '-') {
			err = -EINVAL;
			break;
		}
		if (space == line)
			continue; /* py-spy writes " N" for threads caught without a frame */
		*space = 0;
		if (line[0] == ';' || space[-1] == ';' || strstr(line, ";;")) {
			err = -EINVAL; /* an empty frame */
			break;
		}
		size_t n = 0;
		for (char *save = NULL, *frame = strtok_r(line, ";", &save); frame;
		     frame = strtok_r(NULL, ";", &save)) {
			if (n == MAX_FRAMES_PER_LINE)
				break;
			if (n == ids_cap) {
				fs_frame_id *grown = realloc(ids, sizeof(*ids) * ids_cap * 2);
				if (!grown) {
					err = -ENOMEM;
					break;
				}
				ids = grown;
				ids_cap *= 2;
			}
			char *name, *file;
			int lineno;
			folded__split_frame(frame, &name, &file, &lineno);
			if (!*name) {
				err = -EINVAL;
				break;
			}
			/* the same text is the same frame: key on name and file */
			uint64_t key = hash__string(HASH_FNV_OFFSET, name) * 31 + hash__string(HASH_FNV_OFFSET, file);
			fs_frame_id id = profile__intern_frame(p, key, lineno, name, file, origin_of(file));
			if (id == UINT32_MAX) {
				err = -ENOMEM;
				break;
			}
			ids[n++] = id;
		}
		if (!err && n == 0)
			err = -EINVAL;
		if (err)
			break;
		if (collapse_imports)
			n = imports__collapse(p, ids, n, NULL);
		profile__add_stack(p, ids, n, count);
	}
	if (err == -EINVAL)
		*bad_line = number;
	else if (!err && ferror(f))
		err = -EIO;
	free(line);
	free(ids);
	return err;
}

int folded__read(fs_profile *p, FILE *f, long *bad_line)
{
	return folded__read_imports(p, f, bad_line, false);
}
