/* The libraries the agent dlopens from beside itself (libfilspy-bpf.so,
 * libfilspy-native.so): what needs libbpf or libdw never weighs on the preload. */
#ifndef FILSPY_SIBLING_H
#define FILSPY_SIBLING_H

#include <stddef.h>

/* dlopens name from the folder libfilspy.so was loaded from (build/, $PREFIX/lib,
 * the wheel's filspy/_lib/) and returns dlsym(symbol) of it, with *handle set for
 * dlclose. NULL with why filled in (one sentence) when it is missing, cannot be
 * loaded or lacks symbol. */
const void *sibling__open(const char *name, const char *symbol, void **handle, char *why,
			  size_t size);

#endif
