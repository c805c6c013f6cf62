/* What the filspy command's subcommands share (loader/cli.c). */
#ifndef FILSPY_CLI_H
#define FILSPY_CLI_H

#include <stddef.h>

/* Turns leading --options into environment variables (the settings table's
 * names); returns the index of the first other argument, or -1 after printing a
 * usage error. */
int cli__apply_options(int argc, char **argv, int i);

/* The agent next to the filspy binary (build/) or in ../lib (installed), unless
 * FILSPY_LIBRARY names it. Returns 0, or -errno. */
int cli__find_library(char *out, size_t size);

#endif
