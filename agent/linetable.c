/* Decoders of co_lnotab (<= 3.9), 3.10's co_linetable and the 3.11+ location
 * table, following Objects/codeobject.c and Objects/locations.md of each version. */
#include <limits.h>

#include "linetable.h"

/* <= 3.9: pairs (address increment, signed line increment); a line applies from
 * its address up to the next pair's. */
static int64_t lnotab(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t addr = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		addr += t[i];
		if (addr > offset)
			break;
		line += (int8_t)t[i + 1];
	}
	return line;
}

/* 3.10: pairs (bytes covered, signed line delta; -128: no line); entries that
 * cover nothing only move the line. */
static int64_t linetable310(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t end = 0;
	for (size_t i = 0; i + 1 < len; i += 2) {
		uint64_t start = end;
		end += t[i];
		int8_t delta = (int8_t)t[i + 1];
		int64_t here = -1;
		if (delta != -128) {
			line += delta;
			here = line;
		}
		if (end > start && offset >= start && offset < end)
			return here;
	}
	return -1;
}

/* 6-bit chunks, 0x40 continues; stops at the end of the entry or table. */
static unsigned varint(const uint8_t *t, size_t len, size_t *i)
{
	unsigned value = 0, shift = 0;
	while (*i < len && !(t[*i] & 0x80)) {
		uint8_t b = t[(*i)++];
		if (shift < 32)
			value |= (unsigned)(b & 63) << shift;
		shift += 6;
		if (!(b & 64))
			break;
	}
	return value;
}

static int svarint(const uint8_t *t, size_t len, size_t *i)
{
	unsigned u = varint(t, len, i);
	return u & 1 ? -(int)(u >> 1) : (int)(u >> 1);
}

/* 3.11+: entries start with a byte whose top bit is set: code = bits 3-6, length
 * in code units = bits 0-2 plus one; code 15 has no location, 14 (long) and 13 (no
 * columns) carry a signed line delta, 10-12 are one-line forms (delta code - 10),
 * the short forms 0-9 stay on the line. */
static int64_t locations311(const uint8_t *t, size_t len, int64_t line, uint32_t offset)
{
	uint64_t end = 0;
	size_t i = 0;
	while (i < len) {
		uint8_t first = t[i++];
		if (!(first & 0x80))
			return -1; /* not at an entry start: torn or not a location table */
		uint64_t start = end;
		end += ((first & 7) + 1) * 2;
		int code = (first >> 3) & 15;
		int64_t here;
		if (code == 15) {
			here = -1;
		} else {
			if (code == 14 || code == 13)
				line += svarint(t, len, &i);
			else if (code >= 10)
				line += code - 10;
			here = line;
		}
		if (offset >= start && offset < end)
			return here;
		while (i < len && !(t[i] & 0x80))
			i++;
	}
	return -1;
}

int linetable__line_for(enum lt_format fmt, const uint8_t *table, size_t len, int firstlineno,
			uint32_t offset)
{
	int64_t line = -1;
	if (!table && len)
		return -1;
	/* lines add up in 64 bits: a torn table must not overflow an int */
	if (fmt == LT_LNOTAB)
		line = lnotab(table, len, firstlineno, offset);
	else if (fmt == LT_LINETABLE310)
		line = linetable310(table, len, firstlineno, offset);
	else if (fmt == LT_LOCATIONS311)
		line = locations311(table, len, firstlineno, offset);
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}
