/* Reads folded stacks (py-spy's raw format, ours too) into a profile. */
#ifndef FILSPY_FOLDED_H
#define FILSPY_FOLDED_H

#include <stdbool.h>
#include <stdio.h>

#include "filspy/profile.h"

/* Adds every "frame;frame COUNT" line of f to p. Frames "name (file:line)" keep
 * their file and line; anything else is a name. Blank lines are skipped. Returns 0,
 * or -EINVAL with *bad_line set to the 1-based number of the first malformed line
 * (no count, a count that is not a positive integer, an empty frame), or -errno on
 * a read or allocation error. The profile may hold the lines before an error. */
int folded__read(fs_profile *p, FILE *f, long *bad_line);

/* folded__read, and with collapse_imports each line's import machinery frames
 * become `import NAME` frames (imports__collapse, named from the module run: folded
 * text has no locals). */
int folded__read_imports(fs_profile *p, FILE *f, long *bad_line, bool collapse_imports);

/* Splits "name (file:line)" in place: *name and *file point into frame (file ""
 * and *line 0 when the frame has no location). */
void folded__split_frame(char *frame, char **name, char **file, int *line);

#endif
