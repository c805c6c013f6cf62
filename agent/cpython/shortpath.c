/* py-spy-style short file names, and whose code a file is. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "filspy/profile.h"
#include "filspy/shortpath.h"
#include "filspy/symcache.h"

static int is_package_dir(const char *dir, size_t len)
{
	char init[4096];
	if (len + sizeof("/__init__.py") > sizeof(init))
		return 0;
	memcpy(init, dir, len);
	memcpy(init + len, "/__init__.py", sizeof("/__init__.py"));
	return access(init, F_OK) == 0;
}

/* Returns where the path below marker starts (after "marker/"), or NULL. */
static const char *below(const char *path, const char *marker)
{
	const char *hit = NULL, *p = path;
	while ((p = strstr(p, marker))) {
		hit = p;
		p++;
	}
	return hit ? hit + strlen(marker) : NULL;
}

/* "/lib/python3.11/" and the like: the standard library's root */
static const char *below_stdlib(const char *path)
{
	const char *hit = NULL;
	for (const char *p = path; (p = strstr(p, "/lib/python")); p++) {
		const char *q = p + strlen("/lib/python");
		while ((*q >= '0' && *q <= '9') || *q == '.')
			q++;
		if (*q == '/')
			hit = q + 1;
	}
	return hit;
}

void shortpath__make(const char *path, char *out, size_t size, uint8_t *origin)
{
	const char *s;
	if ((s = below(path, "/site-packages/")) || (s = below(path, "/dist-packages/"))) {
		*origin = FS_ORIGIN_PACKAGE;
	} else if ((s = below_stdlib(path)) || !strncmp(path, "<frozen ", 8)) {
		*origin = FS_ORIGIN_STDLIB;
		if (!s)
			s = path;
	} else {
		*origin = FS_ORIGIN_OWN;
		s = path;
		/* climb while the directory is a package; keep from the top package on */
		const char *slash = strrchr(path, '/');
		while (slash && slash > path && is_package_dir(path, (size_t)(slash - path))) {
			const char *up = slash - 1;
			while (up > path && *up != '/')
				up--;
			slash = *up == '/' ? up : NULL;
		}
		if (slash)
			s = slash + 1;
	}
	snprintf(out, size, "%s", s);
}
