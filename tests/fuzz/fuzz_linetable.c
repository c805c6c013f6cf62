/* libFuzzer target for agent/cpython/linetable.c: on any bytes, in every format, the
 * decoder must stay in bounds (ASan), terminate (-timeout), answer -1 or a line
 * the table can reach, and agree with a literal transcription of CPython's own
 * PyCode_Addr2Line wherever CPython's reading is defined.
 * Input: format selector, firstlineno (4 bytes), offset (4 bytes), table. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cpython/linetable.h"

/* <= 3.9 Objects/codeobject.c PyCode_Addr2Line, lines in 64 bits. */
static int64_t ref_lnotab(const uint8_t *p, size_t len, int64_t line, int64_t addrq)
{
	int64_t addr = 0;
	for (size_t size = len / 2; size > 0; size--) {
		addr += *p++;
		if (addr > addrq)
			break;
		line += (int8_t)*p;
		p++;
	}
	return line;
}

/* PyCodeAddressRange and the reads CPython makes of the table; `undefined` is set
 * where CPython would read past the table or trip an assert, as it may on bytes
 * no compiler wrote, and then there is nothing to compare with. */
struct range {
	int64_t ar_start, ar_end, ar_line, computed_line;
	const uint8_t *lo_next, *limit;
	bool undefined;
};

static uint8_t read_at(struct range *r, const uint8_t *p)
{
	if (p >= r->limit) {
		r->undefined = true;
		return 0;
	}
	return *p;
}

/* 3.10 advance() and PyLineTable_NextAddressRange(). */
static void advance310(struct range *r)
{
	r->ar_start = r->ar_end;
	r->ar_end += read_at(r, r->lo_next);
	int ldelta = (int8_t)read_at(r, r->lo_next + 1);
	r->lo_next += 2;
	if (ldelta == -128) {
		r->ar_line = -1;
	} else {
		r->computed_line += ldelta;
		r->ar_line = r->computed_line;
	}
}

static bool next310(struct range *r)
{
	if (r->lo_next >= r->limit)
		return false;
	advance310(r);
	while (r->ar_start == r->ar_end && !r->undefined) {
		if (r->lo_next >= r->limit)
			r->undefined = true; /* assert(!at_end(range)) */
		advance310(r);
	}
	return true;
}

/* 3.11+ scan_varint(), get_line_delta(), advance() and _PyLineTable_NextAddressRange(). */
static int64_t scan_svarint311(struct range *r, const uint8_t *ptr)
{
	unsigned read = read_at(r, ptr++);
	uint64_t val = read & 63;
	unsigned shift = 0;
	if (read & 128)
		r->undefined = true; /* CPython takes the next entry's first byte as a chunk */
	while ((read & 64) && !r->undefined) {
		read = read_at(r, ptr++);
		shift += 6;
		if (read & 128 || shift >= 32)
			r->undefined = true; /* as above, or a shift past CPython's unsigned int */
		val |= (uint64_t)(read & 63) << (shift & 31);
	}
	val &= UINT32_MAX;
	return val & 1 ? -(int64_t)(val >> 1) : (int64_t)(val >> 1);
}

static void advance311(struct range *r)
{
	uint8_t first = *r->lo_next;
	int code = (first >> 3) & 15;
	if (!(first & 128))
		r->undefined = true; /* assert in next_code_delta() */
	if (code == 13 || code == 14)
		r->computed_line += scan_svarint311(r, r->lo_next + 1);
	else if (code >= 10 && code <= 12)
		r->computed_line += code - 10;
	r->ar_line = (first >> 3) == 0x1f ? -1 : r->computed_line;
	r->ar_start = r->ar_end;
	r->ar_end += ((first & 7) + 1) * 2;
	do {
		r->lo_next++;
	} while (r->lo_next < r->limit && (*r->lo_next & 128) == 0);
}

static bool next311(struct range *r)
{
	if (r->lo_next >= r->limit)
		return false;
	advance311(r);
	return true;
}

/* 3.10+ PyCode_Addr2Line(): _PyCode_InitAddressRange() then _PyCode_CheckLineNumber();
 * from a fresh range the backward walk never runs. */
static int64_t ref_ranges(enum lt_format fmt, const uint8_t *t, size_t len, int64_t first,
			  int64_t lasti, bool *undefined)
{
	struct range r = { -1, 0, -1, first, t, t + len, false };
	while (r.ar_end <= lasti && !r.undefined)
		if (!(fmt == LT_LINETABLE310 ? next310(&r) : next311(&r)))
			return -1;
	*undefined = r.undefined;
	return r.ar_line;
}

static int clamp(int64_t line)
{
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}

static void check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 9)
		return 0;
	enum lt_format fmt = (enum lt_format)(LT_LNOTAB + data[0] % 3);
	int32_t first;
	uint32_t raw;
	memcpy(&first, data + 1, 4);
	memcpy(&raw, data + 5, 4);
	const uint8_t *table = data + 9;
	size_t len = size - 9;
	/* mostly offsets the table covers (an entry covers up to 16 bytes); the top
	 * bit asks for any offset at all */
	uint32_t offset = raw & 0x80000000u ? raw : raw % (uint32_t)(16 * len + 64);

	int line = linetable__line_for(fmt, table, len, first, offset);
	check(line >= -1);
	if (line != -1 && fmt != LT_LOCATIONS311) {
		/* each pair moves the line by at most 128 */
		int64_t reach = 128 * (int64_t)(len / 2);
		check(line >= (int64_t)first - reach && line <= (int64_t)first + reach);
	}

	/* CPython's addrq is an int: only offsets it can be asked about compare */
	if (offset > INT_MAX)
		return 0;
	bool undefined = false;
	int64_t want = fmt == LT_LNOTAB ? ref_lnotab(table, len, first, offset) :
		       ref_ranges(fmt, table, len, first, offset, &undefined);
	if (!undefined)
		check(line == clamp(want));
	return 0;
}
