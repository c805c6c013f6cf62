/* Loading libfilspy.so into a running process with ptrace. */
#ifndef FILSPY_INJECT_H
#define FILSPY_INJECT_H

#include <stddef.h>
#include <sys/types.h>

/* Stops pid's main thread at a point where calling into libc is safe (in Python
 * code or blocked in a system call, not inside libc or the loader), calls
 * dlopen(library), dlsym(handle, "filspy_attach") and filspy_attach(settings) in it,
 * restores every register and detaches. Returns filspy_attach's result (0: the
 * agent samples), or -errno with why (a sentence) filled when it could not. */
int inject__agent(pid_t pid, const char *library, const char *settings, char *why, size_t size);

#endif
