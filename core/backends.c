/* The backends' names and auto's order (include/filspy/backends.h). A new backend is
 * one row here, one in agent/backends/registry.c, and its own file. */
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

#include "filspy/backends.h"

const fs_backend_info backends__order[] = {
	{ FS_BACKEND_BPF, "bpf", "a perf-event eBPF program walks the stack in the kernel" },
	{ FS_BACKEND_PYSPY, "pyspy", "a py-spy child the agent lets ptrace it" },
	{ FS_BACKEND_SELF, "self", "the agent reads its own interpreter's memory" },
	{ FS_BACKEND_AUTO, NULL, NULL },
};

const char *backends__name(enum fs_backend_choice choice)
{
	for (const fs_backend_info *b = backends__order; b->name; b++)
		if (b->choice == choice)
			return b->name;
	return "auto";
}

int backends__parse(const char *name)
{
	if (!strcasecmp(name, "auto"))
		return FS_BACKEND_AUTO;
	for (const fs_backend_info *b = backends__order; b->name; b++)
		if (!strcasecmp(name, b->name))
			return (int)b->choice;
	return -1;
}

const char *backends__names(void)
{
	/* built once; the same bytes if two threads race to build it */
	static char names[128];
	if (!names[0]) {
		size_t at = (size_t)snprintf(names, sizeof(names), "auto");
		for (const fs_backend_info *b = backends__order; b->name && at < sizeof(names); b++)
			at += (size_t)snprintf(names + at, sizeof(names) - at, ", %s", b->name);
	}
	return names;
}
