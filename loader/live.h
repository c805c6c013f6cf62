/* Talking to a running profiled process: `filspy dump PID` and `filspy top PID`. */
#ifndef FILSPY_LIVE_H
#define FILSPY_LIVE_H

/* Sends cmd to the agent in pid over its control socket; returns the whole answer
 * (malloc'ed) or NULL with errno set (ENOENT: no agent there). */
char *live__ask(long pid, const char *cmd);

/* argv[0] == "dump" / "top"; return the exit status. */
int live__dump_main(int argc, char **argv);
int live__top_main(int argc, char **argv);

#endif
