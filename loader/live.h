/* Talking to a running profiled process through its control socket. */
#ifndef FILSPY_LIVE_H
#define FILSPY_LIVE_H

#include <stdbool.h>

/* Sends cmd to the agent in pid over its control socket; returns the whole answer
 * (malloc'ed) or NULL with errno set (ENOENT: no agent there). */
char *live__ask(long pid, const char *cmd);

/* Whether an agent answers on pid's control socket. */
bool live__answers(long pid);

/* The PID operand of argv, or its --pid PID / -p PID / --pid=PID; -1 after one
 * `filspy:` line (usage, or no such process). */
long live__parse_pid(int argc, char **argv, const char *usage);

#endif
