/* What the filspy command's subcommands share (loader/cli.c). */
#ifndef FILSPY_CLI_H
#define FILSPY_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* The agent next to the filspy binary (build/) or in ../lib (installed), unless
 * FILSPY_LIBRARY names it. Returns 0, or -errno. */
int cli__find_library(char *out, size_t size);

/* Whether pid looks like a Python process: its program is python* or it maps a
 * libpython (true too when /proc cannot tell). Writes its program's name into
 * program (size bytes). */
bool cli__is_python(long pid, char *program, size_t size);

/* pid and its descendants, parents before their children, into out[0..max).
 * Returns how many. */
int cli__descendants(long pid, long *out, int max);

#endif
