/* The words every writer uses for the samples a backend lost (fs_profile_meta). */
#include <stdio.h>

#include "filspy/writers.h"

const char *writers__losses(const fs_profile_meta *meta, char *buf, size_t size)
{
	if (!meta || !meta->counts_known) {
		if (size)
			buf[0] = 0;
		return buf;
	}
	snprintf(buf, size, "%llu dropped as torn, %llu cut short",
		 (unsigned long long)meta->dropped, (unsigned long long)meta->cut);
	return buf;
}
