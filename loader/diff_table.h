/* `filspy diff`'s table of functions (loader/diff_table.c). */
#ifndef FILSPY_DIFF_TABLE_H
#define FILSPY_DIFF_TABLE_H

#include <stdbool.h>

#include "filspy/profile.h"

/* Prints on stdout the top functions (by_line: function and line) whose own or
 * total share of samples changed most between before and after, either way:
 * own (leaf) and total (on the stack, once per sample) before and after, in
 * percent of each profile's samples. Both have their totals finished. Returns 0,
 * or -ENOMEM. */
int diff_table__print(fs_profile *before, fs_profile *after, bool by_line, int top);

#endif
