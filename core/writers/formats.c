/* The output formats as one table (FS_FORMATS in include/filspy/writers.h): what the
 * settings, the agent's files, `filspy report` and `filspy attach` all read. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "filspy/writers.h"

const fs_format_info formats__table[] = {
#define FS_FORMAT_INFO_(id, name, aliases, suffix, write) { name, aliases, FS_FORMAT_##id, suffix, write },
	FS_FORMATS(FS_FORMAT_INFO_)
#undef FS_FORMAT_INFO_
	{ NULL, NULL, 0, NULL, NULL },
};

/* True when name is one of the comma-separated words of list, case-insensitively. */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && !strncasecmp(p, name, n))
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

const fs_format_info *formats__named(const char *name)
{
	for (const fs_format_info *f = formats__table; f->name; f++)
		if (!strcasecmp(name, f->name) || listed(f->aliases, name))
			return f;
	return NULL;
}

const char *formats__names(char *out, size_t size, const char *sep, bool profile_only)
{
	size_t at = 0;
	out[0] = 0;
	for (const fs_format_info *f = formats__table; f->name && at < size; f++) {
		if (profile_only && !f->write)
			continue;
		int n = snprintf(out + at, size - at, "%s%s", at ? sep : "", f->name);
		if (n < 0)
			break;
		at += (size_t)n;
	}
	return out;
}

int formats__write_job(void *job, FILE *f)
{
	const fs_format_job *j = job;
	return j->format->write(j->p, j->meta, f);
}
