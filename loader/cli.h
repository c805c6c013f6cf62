/* What the filspy command's subcommands share (loader/cli.c). */
#ifndef FILSPY_CLI_H
#define FILSPY_CLI_H

#include <stddef.h>

/* The agent next to the filspy binary (build/) or in ../lib (installed), unless
 * FILSPY_LIBRARY names it. Returns 0, or -errno. */
int cli__find_library(char *out, size_t size);

#endif
