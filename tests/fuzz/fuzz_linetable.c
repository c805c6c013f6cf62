/* libFuzzer target: every line-table decoder on arbitrary bytes must terminate
 * without reading out of bounds and answer -1 or a line number. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	enum lt_format fmt = (enum lt_format)(1 + data[0] % 3);
	int32_t first;
	uint32_t offset;
	memcpy(&first, data + 1, 4);
	memcpy(&offset, data + 5, 4);
	first &= 0xffffff; /* co_firstlineno is positive */
	int line = linetable__line_for(fmt, data + 9, size - 9, first, offset);
	if (line < -1)
		__builtin_trap();
	return 0;
}
