/* C++ and Rust symbol names made readable, through libiberty's demanglers. */
#include <stdlib.h>
#include <string.h>

#include <libiberty/demangle.h>

#include "native.h"

/* Why libiberty (Debian's libiberty-dev, linked statically: its archive is
 * PIC): it is the demangler of binutils and gdb, kept in step with GCC's ABI,
 * and does Rust as well, legacy (whose trailing 17h<16 hex>E hash it drops)
 * and v0 (_R...), where __cxa_demangle knows C++ only and would leave us a
 * hand-written Rust stripper and no v0 at all. We call its two demanglers
 * directly, not cplus_demangle: that one allocates with xmalloc, which exits
 * the program when memory runs out; these two return NULL instead.
 *
 * The C++ demangler sizes arrays on the stack by the name's length (about 50
 * bytes per character); the sampling thread's stack is 1 MiB, so names longer
 * than this stay mangled. */
#define MAX_MANGLED 2048

char *demangle__name(const char *name)
{
	if (!name || name[0] != '_' || strnlen(name, MAX_MANGLED + 1) > MAX_MANGLED)
		return NULL;
	if (name[1] == 'R')
		return rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	if (name[1] != 'Z')
		return NULL;
	/* legacy Rust is Itanium-mangled: rust_demangle answers only when the last
	 * element is Rust's hash, so it goes first */
	char *out = rust_demangle(name, DMGL_PARAMS | DMGL_ANSI);
	if (!out)
		out = cplus_demangle_v3(name, DMGL_PARAMS | DMGL_ANSI);
	return out;
}
