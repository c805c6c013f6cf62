/* `filspy run` and `filspy record` (loader/run.c). */
#ifndef FILSPY_RUN_H
#define FILSPY_RUN_H

#include "commands.h"

/* Reads c's options from argv[first] on, then runs the command with the agent
 * preloaded (or attaches, for --pid). Returns the command's own exit status (a
 * command killed by a signal: the same signal ends filspy), 2 on bad usage. */
int run__main(const cli_command *c, int argc, char **argv, int first);

#endif
