/* Reads of this process's own memory that fail with an error instead of faulting. */
#ifndef FILSPY_MEMREAD_H
#define FILSPY_MEMREAD_H

#include <stddef.h>
#include <stdint.h>

/* Must be called again in a forked child before reading (the pid changed). */
void memread__init(void);

/* Copies n bytes at addr into dst. Returns 0, or -errno (EFAULT when any byte is
 * unmapped: dst may then be partly written). */
int memread__read(void *dst, uintptr_t addr, size_t n);

/* Reads a pointer-sized word; returns 0 or -errno. */
int memread__word(uintptr_t addr, uintptr_t *out);

typedef struct memread_req {
	uintptr_t addr;
	void *dst;
	size_t len;
} memread_req;

/* Reads every request in as few system calls as possible. Returns how many leading
 * requests were read whole (the kernel stops at the first unreadable one). */
size_t memread__batch(const memread_req *reqs, size_t n);

#endif
