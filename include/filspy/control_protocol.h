/* The control socket's protocol, shared by the agent (agent/control.c) and the
 * filspy command (attach, dump, top): where the socket is and the words it takes.
 * One line of command, then the answer until the agent closes. */
#ifndef FILSPY_CONTROL_PROTOCOL_H
#define FILSPY_CONTROL_PROTOCOL_H

#include <stddef.h>
#include <sys/types.h>

#define CONTROL_SNAPSHOT "snapshot" /* the profile so far, raw folded */
#define CONTROL_DUMP "dump"         /* every thread's current stack */
#define CONTROL_DUMP_LOCALS "dump-locals" /* the same with each frame's locals */
#define CONTROL_INFO "info"         /* pid, backend, rate, samples, label, dir */
#define CONTROL_FLUSH "flush"       /* write the files now */
#define CONTROL_STOP "stop"         /* stop sampling; files at exit */
#define CONTROL_FINISH "finish"     /* attach is done: write, then end the session */

/* The folder of the sockets of agents running with effective uid uid,
 * /tmp/filspy-<uid> (0700, owned by uid). */
void control_protocol__dir(unsigned uid, char *out, size_t size);

/* The socket of the agent in process pid running as uid: <dir>/<pid>.sock. */
void control_protocol__path(unsigned uid, long pid, char *out, size_t size);

/* The effective uid of process pid (the agent names its folder by it), from
 * /proc/PID/status; the caller's own euid when it cannot be read. */
unsigned control_protocol__uid_of(long pid);

/* Removes the sockets in uid's folder whose process is gone (a SIGKILL leaves its
 * socket behind: nothing ran to remove it). Touches only "<pid>.sock" names.
 * Returns how many it removed. */
int control_protocol__sweep(unsigned uid);

#endif
