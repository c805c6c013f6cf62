/* Decoders of co_lnotab (<= 3.9), 3.10's co_linetable and the 3.11+ location
 * table, answering what PyCode_Addr2Line of Objects/codeobject.c answers in each
 * version, on bytes that may be torn or garbage. */
#include <limits.h>

#include "cpython/linetable.h"

/* Lines add up in 64 bits so that no table can wrap them into a plausible int;
 * the clamp keeps even a table of gigabytes of 2^31 deltas from overflowing. */
#define LINE_CLAMP ((int64_t)1 << 62)

static int64_t add_line(int64_t line, int64_t delta)
{
	line += delta;
	return line > LINE_CLAMP ? LINE_CLAMP : line < -LINE_CLAMP ? -LINE_CLAMP : line;
}

/* <= 3.9: pairs (byte increment, signed line increment; signed since 3.6). A pair
 * moves the line once its address is reached, so an offset gets the line of the
 * last pair at or before it, and past the end the last line, never -1. */
static int64_t lnotab(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > offset)
			break;
		line = add_line(line, (int8_t)t[i + 1]);
	}
	return line;
}

/* 3.10: pairs (bytes covered, signed line delta, -128 for "no line" that leaves
 * the running line alone). A pair covering 0 bytes only moves the line: 3.10
 * steps over them to the next range without looking at their line. */
static int64_t linetable310(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t end = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint64_t start = end;
		int8_t delta = (int8_t)t[i + 1];
		end += t[i];
		if (delta != -128)
			line = add_line(line, delta);
		if (offset >= start && offset < end)
			return delta == -128 ? -1 : line;
	}
	return -1;
}

/* 6-bit chunks, least significant first, 0x40 to continue. Stops at a byte with
 * the top bit, which starts the next entry: CPython would read on, but only a torn
 * table has one there. Chunks past 32 bits are dropped like CPython's unsigned int. */
static uint32_t varint(const uint8_t *t, size_t len, size_t *i)
{
	uint32_t value = 0;
	for (unsigned shift = 0; *i < len && !(t[*i] & 0x80); shift += 6) {
		uint8_t b = t[(*i)++];
		if (shift < 32)
			value |= (uint32_t)(b & 63) << shift;
		if (!(b & 64))
			break;
	}
	return value;
}

static int64_t svarint(const uint8_t *t, size_t len, size_t *i)
{
	uint32_t u = varint(t, len, i);
	return u & 1 ? -(int64_t)(u >> 1) : (int64_t)(u >> 1);
}

/* 3.11+ (Objects/locations.md): each entry starts with a byte whose top bit is
 * set, then code = bits 3-6 and its length in code units = bits 0-2 plus one.
 * Code 15 has no location and keeps the line; 14 (long form) and 13 (no columns)
 * start with a signed line delta; 10-12 are one-line forms of delta code - 10;
 * the short forms 0-9 stay on the line. Columns and end lines are skipped: the
 * next entry starts at the next byte with the top bit set. */
static int64_t locations311(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t end = 0;
	size_t i = 0;
	if (len && !(t[0] & 0x80))
		return -1; /* not a location table, or torn */
	while (i < len) {
		uint8_t first = t[i++];
		int code = (first >> 3) & 15;
		uint64_t start = end;
		end += ((first & 7) + 1) * 2;
		if (code == 14 || code == 13)
			line = add_line(line, svarint(t, len, &i));
		else if (code >= 10 && code <= 12)
			line = add_line(line, code - 10);
		if (offset >= start && offset < end)
			return code == 15 ? -1 : line;
		while (i < len && !(t[i] & 0x80))
			i++;
	}
	return -1;
}

int linetable__line_for(enum lt_format fmt, const uint8_t *table, size_t len, int firstlineno,
			uint32_t offset)
{
	int64_t line;
	if (!table && len)
		return -1;
	switch (fmt) {
	case LT_LNOTAB:
		line = lnotab(table, len, firstlineno, offset);
		break;
	case LT_LINETABLE310:
		line = linetable310(table, len, firstlineno, offset);
		break;
	case LT_LOCATIONS311:
		line = locations311(table, len, firstlineno, offset);
		break;
	default:
		return -1;
	}
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}
