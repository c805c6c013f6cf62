/* Finds a module's separate debug file (build-id, then .gnu_debuglink) on this machine only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "native.h"

#define DEBUG_ROOT "/usr/lib/debug"

static int open_path(const char *path, char **name)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	*name = strdup(path);
	if (!*name) {
		close(fd);
		return -1;
	}
	return fd;
}

/* /usr/lib/debug/.build-id/xx/yyyy.debug, as Debian's -dbgsym packages lay out */
static int open_by_build_id(Dwfl_Module *mod, char **name)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);
	if (n < 2 || n > 64)
		return -1;
	char path[sizeof(DEBUG_ROOT) + 32 + 2 * 64];
	int at = snprintf(path, sizeof(path), DEBUG_ROOT "/.build-id/%02x/", bits[0]);
	for (int i = 1; i < n; i++)
		at += snprintf(path + at, sizeof(path) - at, "%02x", bits[i]);
	snprintf(path + at, sizeof(path) - at, ".debug");
	return open_path(path, name);
}

/* gdb's three places for a .gnu_debuglink name: beside the file, in .debug/
 * beside it, and under /usr/lib/debug at the file's directory */
static int open_by_debuglink(const char *file_name, const char *link, char **name)
{
	if (!file_name || !link || !link[0] || strchr(link, '/'))
		return -1;
	const char *slash = strrchr(file_name, '/');
	if (!slash)
		return -1;
	int dir_len = (int)(slash - file_name);
	const char *forms[] = { "%.*s/%s", "%.*s/.debug/%s", DEBUG_ROOT "%.*s/%s" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char path[PATH_MAX];
		int n = snprintf(path, sizeof(path), forms[i], dir_len, file_name, link);
		if (n <= 0 || (size_t)n >= sizeof(path) || strcmp(path, file_name) == 0)
			continue;  /* a link naming the file itself would be no debug file */
		int fd = open_path(path, name);
		if (fd >= 0)
			return fd;
	}
	return -1;
}

/* dwfl_standard_find_debuginfo ends with a debuginfod query when nothing local
 * is found, which with DEBUGINFOD_URLS set (Debian's libdebuginfod-common sets
 * it for every login shell) downloads over the network, on the sampling thread
 * of someone else's program, for every module without a local debug file. So
 * with the variable set we look only where the standard search looks locally
 * (without its debuglink CRC check: a wrong file only costs names, and the
 * build-id path, tried first, is exact). */
int debuginfo__find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		    char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !urls[0])
		return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	int fd = open_by_build_id(mod, debuginfo_file_name);
	if (fd < 0)
		fd = open_by_debuglink(file_name, debuglink_file, debuginfo_file_name);
	if (fd < 0)
		errno = ENOENT;
	return fd;
}
