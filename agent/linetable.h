/* Line numbers from the line tables of CPython code objects, every format. */
#ifndef FILSPY_LINETABLE_H
#define FILSPY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

enum lt_format {
	LT_LNOTAB = 1,      /* co_lnotab, CPython <= 3.9; offsets in bytes */
	LT_LINETABLE310,    /* co_linetable of 3.10; offsets in bytes */
	LT_LOCATIONS311,    /* 3.11+ location table (co_linetable); offsets in bytes */
};

/* Returns the line of the instruction at byte offset `offset` of a code object
 * whose first line is firstlineno, as the interpreter itself answers it
 * (PyCode_Addr2Line), decoding only the len bytes at table: bytes copied out of
 * memory that may be torn, so any content is handled. Returns -1 when the table
 * has no line for that offset or is malformed. Reads nothing outside
 * [table, table + len), allocates nothing, and runs in O(len). */
int linetable__line_for(enum lt_format fmt, const uint8_t *table, size_t len, int firstlineno,
			uint32_t offset);

#endif
