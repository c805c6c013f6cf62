/* `filspy top` on a process without the agent (loader/top_inject.c). */
#ifndef FILSPY_TOP_INJECT_H
#define FILSPY_TOP_INJECT_H

/* Loads the agent into pid in top mode (no files), as attach does, and waits for
 * its control socket. When it cannot, hands over to `py-spy top --pid` (exec;
 * --delay passed on) and does not return unless py-spy cannot run. Returns 1
 * when the agent now answers (the caller ends its session), -1 after one
 * `filspy:` line. */
int top_inject__agent(long pid, int delay_ms);

#endif
