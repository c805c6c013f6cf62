/* The nearest known name to a misspelled one (loader/suggest.c). */
#ifndef FILSPY_SUGGEST_H
#define FILSPY_SUGGEST_H

#include <stddef.h>

/* Edit distance (insertions, deletions, substitutions, adjacent swaps) between a
 * and b, counted up to 64 characters of each. */
int suggest__distance(const char *a, const char *b);

/* Remembers name as a candidate for what word meant: a collector over any list of
 * names, so callers need not build an array. *best and *best_d start NULL and a
 * large number; afterwards *best is the nearest candidate close enough to be a
 * likely misspelling (a prefix, or within a third of its length, at least 2), or
 * NULL. The strings are the caller's. */
void suggest__consider(const char *word, const char *name, const char **best, int *best_d);

#endif
