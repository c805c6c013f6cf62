/* Talking to a running profiled process: its control socket, and `filspy top PID`. */
#ifndef FILSPY_LIVE_H
#define FILSPY_LIVE_H

/* Sends cmd to the agent in pid over its control socket; returns the whole answer
 * (malloc'ed) or NULL with errno set (ENOENT: no agent there). */
char *live__ask(long pid, const char *cmd);

/* The PID operand of argv, or its --pid PID / -p PID / --pid=PID; -1 after one
 * `filspy:` line (usage, or no such process). */
long live__parse_pid(int argc, char **argv, const char *usage);

/* argv[0] == "top"; returns the exit status. */
int live__top_main(int argc, char **argv);

#endif
