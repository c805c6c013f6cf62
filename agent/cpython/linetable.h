/* Line numbers from the line tables of CPython code objects, every format. */
#ifndef FILSPY_LINETABLE_H
#define FILSPY_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

enum lt_format {
	LT_LNOTAB = 1,      /* co_lnotab, CPython <= 3.9; offsets in bytes */
	LT_LINETABLE310,    /* co_linetable of 3.10; offsets in bytes */
	LT_LOCATIONS311,    /* 3.11+ location table (co_linetable); offsets in bytes (code unit index * 2) */
};

/* Returns the line number for the instruction at byte offset `offset` in the code
 * object whose first line is `firstlineno`, decoding only the `len` bytes at `table`
 * (bytes copied out of another process: any content is handled), the same answer
 * as that CPython's own PyCode_Addr2Line. That answer can be 0 (3.11+ put a
 * module's RESUME there), and for LT_LNOTAB is firstlineno when the table is empty
 * and the last line past its end. Returns -1 when the table has no line for that
 * offset (3.10's -128, 3.11's "no location", past the end since 3.10), when the
 * line would fall outside [0, INT_MAX], when `fmt` is unknown, and when `table` is
 * NULL with a non-zero `len`. Never reads outside [table, table + len), allocates
 * nothing, always terminates, O(len). */
int linetable__line_for(enum lt_format fmt, const uint8_t *table, size_t len, int firstlineno,
			uint32_t offset);

#endif
