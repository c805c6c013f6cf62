/* What the filspy command's subcommands share: --options turned into settings,
 * and where the agent library is. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "cli.h"

#define EXIT_USAGE 2

int cli__find_library(char *out, size_t size)
{
	const char *forced = getenv("FILSPY_LIBRARY");
	if (forced && *forced) {
		snprintf(out, size, "%s", forced);
		return access(out, R_OK) == 0 ? 0 : -errno;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const candidates[] = { "%s/libfilspy.so", "%s/../lib/libfilspy.so" };
	for (size_t i = 0; i < 2; i++) {
		if (snprintf(out, size, candidates[i], exe) >= (int)size)
			continue;
		if (access(out, R_OK) == 0) {
			char *real = realpath(out, NULL);
			if (real) {
				snprintf(out, size, "%s", real);
				free(real);
			}
			return 0;
		}
	}
	return -ENOENT;
}

static const fs_setting_info *option_named(const char *name, size_t len)
{
	for (const fs_setting_info *s = settings__table; s->env; s++)
		if (strlen(s->option) == len && !strncmp(s->option, name, len))
			return s;
	return NULL;
}

int cli__apply_options(int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1;
		if (strncmp(a, "--", 2))
			return i;
		const char *name = a + 2, *eq = strchr(name, '=');
		const fs_setting_info *s = option_named(name, eq ? (size_t)(eq - name) : strlen(name));
		if (!s) {
			fs_error("unknown option %s (see filspy --help)", a);
			return -1;
		}
		const char *value = "1";
		if (s->arg) {
			if (eq) {
				value = eq + 1;
			} else if (i + 1 < argc) {
				value = argv[++i];
			} else {
				fs_error("option --%s needs a value (%s)", s->option, s->arg);
				return -1;
			}
		} else if (eq) {
			value = eq + 1;
		}
		setenv(s->env, value, 1);
	}
	return i;
}
