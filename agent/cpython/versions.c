/* Which CPython versions filspy reads: the rows of the offsets table, and the
 * later versions that carry their own offsets. Needs nothing but the table, so
 * the filspy command can link it too. */
#include <stddef.h>

#include "filspy/pyoffsets.h"

/* _Py_DebugOffsets at the start of _PyRuntime since 3.13 (pydebug_offsets.c) */
#define FIRST_SELF_DESCRIBED 13
/* no table row lies beyond: pyoffsets_table.c is generated from pyenv's 3.x */
#define LAST_MINOR 99

bool pyversions__tested(int major, int minor)
{
	return pyoffsets__for_version(major, minor) != NULL;
}

bool pyversions__describes_itself(int major, int minor)
{
	return major == 3 && minor >= FIRST_SELF_DESCRIBED;
}

bool pyversions__supported(int major, int minor)
{
	return pyversions__tested(major, minor) || pyversions__describes_itself(major, minor);
}

int pyversions__list(int *minors, int max)
{
	int n = 0;
	for (int minor = 0; minor <= LAST_MINOR; minor++) {
		if (!pyversions__tested(3, minor))
			continue;
		if (n < max)
			minors[n] = minor;
		n++;
	}
	return n;
}
