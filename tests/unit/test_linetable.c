/* Line-table decoders against each interpreter's own answers (the fixtures of
 * scripts/gen-linetable-fixtures.py) and against hand-made edge cases. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cpython/linetable.h"

#define FIXTURES "tests/unit/fixtures/linetable"

#define LINE(fmt, t, first, off) linetable__line_for(fmt, t, sizeof(t), first, off)

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Returns the number of bytes, or -1 when hex is not an even run of hex digits. */
static long unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	if (!strcmp(hex, "-"))
		return 0;
	for (; hex[0]; hex += 2) {
		int hi = nibble(hex[0]), lo = hex[1] ? nibble(hex[1]) : -1;
		if (hi < 0 || lo < 0 || n == cap)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return (long)n;
}

/* Checks every offset of one fixture file; returns how many. */
static long check_file(const char *path)
{
	static uint8_t table[1 << 20];
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot open %s", path);
	char *text = NULL;
	size_t cap = 0;
	long checked = 0, promised = -1, number = 0;
	while (getline(&text, &cap, f) > 0) {
		number++;
		if (text[0] == '#') {
			char *said = strrchr(text, ';');
			if (said)
				sscanf(said, "; %ld offsets", &promised);
			continue;
		}
		char *save, *field[6];
		field[0] = strtok_r(text, " \n", &save);
		for (int i = 1; i < 6; i++)
			field[i] = field[i - 1] ? strtok_r(NULL, " \n", &save) : NULL;
		cr_assert(field[5], "%s:%ld: not FORMAT FIRSTLINENO END HEX RUNS NAME", path, number);
		int fmt = atoi(field[0]), first = atoi(field[1]);
		unsigned end = (unsigned)strtoul(field[2], NULL, 10);
		long len = unhex(field[3], table, sizeof(table));
		cr_assert_geq(len, 0, "%s:%ld: bad table hex", path, number);

		/* runs OFFSET:LINE: the line holds up to the next run's offset, the last to END */
		char *runs = field[4];
		unsigned offset, next;
		int want, used;
		cr_assert_eq(sscanf(runs, "%u:%d%n", &offset, &want, &used), 2, "%s:%ld", path, number);
		for (;;) {
			runs += used;
			int more = *runs == ',';
			int next_want = 0;
			if (more) {
				cr_assert_eq(sscanf(runs + 1, "%u:%d%n", &next, &next_want, &used), 2,
					     "%s:%ld: bad run", path, number);
				used++;
			} else {
				next = end;
			}
			for (; offset < next; offset += 2, checked++) {
				int got = linetable__line_for((enum lt_format)fmt, table, (size_t)len, first,
							      offset);
				cr_assert_eq(got, want, "%s:%ld (%s): offset %u: got line %d, CPython says %d",
					     path, number, field[5], offset, got, want);
			}
			if (!more)
				break;
			want = next_want;
		}
	}
	free(text);
	fclose(f);
	cr_assert_eq(checked, promised, "%s: checked %ld offsets, its header promises %ld", path,
		     checked, promised);
	return checked;
}

static int by_version(const struct dirent **a, const struct dirent **b)
{
	return strverscmp((*a)->d_name, (*b)->d_name);
}

static int is_fixture(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return n > 4 && !strcmp(e->d_name + n - 4, ".txt");
}

Test(linetable, agrees_with_every_interpreter)
{
	struct dirent **names;
	int files = scandir(FIXTURES, &names, is_fixture, by_version);
	cr_assert_gt(files, 0, "no fixtures in %s (tests run from the repository root)", FIXTURES);
	long total = 0;
	for (int i = 0; i < files; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", FIXTURES, names[i]->d_name);
		long n = check_file(path);
		fprintf(stderr, "linetable: CPython %.*s: %ld offsets agree\n",
			(int)strlen(names[i]->d_name) - 4, names[i]->d_name, n);
		cr_assert_gt(n, 1000, "%s has too few offsets to mean much", path);
		total += n;
		free(names[i]);
	}
	free(names);
	fprintf(stderr, "linetable: %ld offsets agree in %d versions\n", total, files);
}

Test(linetable, empty_tables)
{
	/* <= 3.9 has an empty co_lnotab for one-line code: everything is on firstlineno */
	cr_assert_eq(linetable__line_for(LT_LNOTAB, NULL, 0, 7, 0), 7);
	cr_assert_eq(linetable__line_for(LT_LNOTAB, NULL, 0, 7, 10), 7);
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, NULL, 0, 7, 0), -1);
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, NULL, 0, 7, 0), -1);
	const uint8_t one = 0;
	cr_assert_eq(linetable__line_for(LT_LNOTAB, &one, 0, 7, 0), 7);
	cr_assert_eq(linetable__line_for(LT_LNOTAB, NULL, 2, 7, 0), -1, "no bytes behind a length");
	cr_assert_eq(linetable__line_for((enum lt_format)0, &one, 1, 7, 0), -1, "unknown format");
	cr_assert_eq(linetable__line_for((enum lt_format)4, &one, 1, 7, 0), -1, "unknown format");
}

Test(linetable, lnotab)
{
	/* 300 bytes on one line take (255, 0) then (45, 1); signed deltas since 3.6 */
	const uint8_t long_range[] = { 255, 0, 45, 1, 4, (uint8_t)-3 };
	cr_assert_eq(LINE(LT_LNOTAB, long_range, 10, 298), 10);
	cr_assert_eq(LINE(LT_LNOTAB, long_range, 10, 300), 11);
	cr_assert_eq(LINE(LT_LNOTAB, long_range, 10, 302), 11);
	cr_assert_eq(LINE(LT_LNOTAB, long_range, 10, 304), 8);
	cr_assert_eq(LINE(LT_LNOTAB, long_range, 10, UINT32_MAX), 8, "past the end: the last line");
	/* a 300-line jump: (0, 127), (0, 127), (2, 46) */
	const uint8_t far[] = { 0, 127, 0, 127, 2, 46 };
	cr_assert_eq(LINE(LT_LNOTAB, far, 1, 0), 255);
	cr_assert_eq(LINE(LT_LNOTAB, far, 1, 2), 301);
	const uint8_t back[] = { 2, (uint8_t)-128, 2, (uint8_t)-128, 2, 0 };
	cr_assert_eq(LINE(LT_LNOTAB, back, 1000, 2), 872);
	cr_assert_eq(LINE(LT_LNOTAB, back, 1000, 4), 744);
	const uint8_t odd[] = { 2, 1, 0 };
	cr_assert_eq(LINE(LT_LNOTAB, odd, 1, 100), 2, "a torn last pair is not read");
	cr_assert_eq(linetable__line_for(LT_LNOTAB, far, 2, 1, 100), 128, "only len bytes are read");
}

Test(linetable, lnotab_implausible_lines)
{
	const uint8_t below[] = { 0, (uint8_t)-5 };
	cr_assert_eq(LINE(LT_LNOTAB, below, 3, 0), -1, "lines below 0 are garbage");
	const uint8_t above[] = { 0, 127 };
	cr_assert_eq(LINE(LT_LNOTAB, above, INT_MAX - 127, 0), INT_MAX);
	cr_assert_eq(LINE(LT_LNOTAB, above, INT_MAX - 100, 0), -1, "no overflow past INT_MAX");
	cr_assert_eq(LINE(LT_LNOTAB, above, -200, 0), -1);
}

Test(linetable, linetable310)
{
	/* (4 bytes, +0), (6 bytes, no line), (0 bytes, +5), (0 bytes, no line), (2 bytes, +1) */
	const uint8_t t[] = { 4, 0, 6, (uint8_t)-128, 0, 5, 0, (uint8_t)-128, 2, 1 };
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 0), 10);
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 3), 10);
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 4), -1, "-128: no line");
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 8), -1);
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 10), 16, "empty ranges move the line; -128 does not");
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, 12), -1, "past the end");
	cr_assert_eq(LINE(LT_LINETABLE310, t, 10, UINT32_MAX), -1);
	const uint8_t back[] = { 2, 10, 2, (uint8_t)-127, 2, (uint8_t)-127 };
	cr_assert_eq(LINE(LT_LINETABLE310, back, 300, 4), 56);
	const uint8_t trailing_empty[] = { 2, 1, 0, 1 };
	cr_assert_eq(LINE(LT_LINETABLE310, trailing_empty, 1, 0), 2);
	cr_assert_eq(LINE(LT_LINETABLE310, trailing_empty, 1, 2), -1, "nothing covers offset 2");
	const uint8_t odd[] = { 2, 1, 9 };
	cr_assert_eq(LINE(LT_LINETABLE310, odd, 1, 2), -1, "a torn last pair is not read");
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, t, 2, 10, 4), -1, "only len bytes are read");
}

/* The first byte of a 3.11+ entry: code (bits 3-6), length in code units (bits 0-2, less one). */
#define E(code, units) ((uint8_t)(0x80 | (code) << 3 | ((units) - 1)))

Test(linetable, locations311)
{
	const uint8_t t[] = {
		E(14, 1), 0x03, 0x01, 0x01, 0x01, /* long form, line -1: 3.11's module RESUME on line 0 */
		E(0, 2), 0x05,                    /* short form: same line */
		E(11, 1), 4, 9,                   /* one-line form, +1 */
		E(12, 3), 4, 9,                   /* +2 */
		E(15, 2),                         /* no location */
		E(10, 1), 4, 9,                   /* +0: back to the line before the gap */
		E(13, 8), 0x49, 0x03,             /* no columns, -100 (201 = 9 | 3 << 6) */
		E(14, 1), 0x50, 0x04, 0x00, 0x01, 0x05, /* long form, +136 (272 = 16 | 4 << 6) */
	};
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 0), 0);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 2), 0);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 5), 0, "an odd offset is inside a code unit");
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 6), 1);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 8), 3);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 12), 3);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 14), -1, "code 15: no location");
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 16), -1);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 1, 18), 3);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 200, 20), 102);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 200, 34), 102);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 200, 36), 238);
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 200, 38), -1, "past the end");
	cr_assert_eq(LINE(LT_LOCATIONS311, t, 200, UINT32_MAX), -1);
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, t, 5, 1, 2), -1, "only len bytes are read");
}

Test(linetable, locations311_malformed)
{
	const uint8_t not_an_entry[] = { 0x05, E(10, 1), 0, 0 };
	cr_assert_eq(LINE(LT_LOCATIONS311, not_an_entry, 1, 0), -1);
	cr_assert_eq(LINE(LT_LOCATIONS311, not_an_entry, 1, 2), -1);
	/* a long form cut inside its line-delta varint: what was read counts */
	const uint8_t cut[] = { E(14, 1), 0x42 };
	cr_assert_eq(LINE(LT_LOCATIONS311, cut, 5, 0), 6);
	const uint8_t bare[] = { E(14, 1) };
	cr_assert_eq(LINE(LT_LOCATIONS311, bare, 5, 0), 5);
	/* a varint running into the next entry ends there, and that entry still counts */
	const uint8_t runs_on[] = { E(13, 1), 0x42, E(11, 1), 0, 0 };
	cr_assert_eq(LINE(LT_LOCATIONS311, runs_on, 5, 2), 7);
	/* endless continuation: the chunks past 32 bits are dropped, the table still ends */
	uint8_t endless[64];
	memset(endless, 0x7f, sizeof(endless));
	endless[0] = E(14, 1);
	int line = LINE(LT_LOCATIONS311, endless, 5, 0);
	cr_assert(line >= -1, "got %d", line);
	cr_assert_eq(LINE(LT_LOCATIONS311, endless, 5, 2), -1);
	/* lines past INT_MAX or below 0 are garbage, not wrapped */
	const uint8_t up[] = { E(13, 1), 0x40, 0x40, 0x40, 0x40, 0x40, 0x02 }; /* +2^30 */
	cr_assert_eq(LINE(LT_LOCATIONS311, up, 1 << 30, 0), -1);
	cr_assert_eq(LINE(LT_LOCATIONS311, up, 1000, 0), 1000 + (1 << 30));
	const uint8_t down[] = { E(13, 1), 0x47 /* 7 | continue */, 0x01 };  /* u = 71: -35 */
	cr_assert_eq(LINE(LT_LOCATIONS311, down, 30, 0), -1);
	cr_assert_eq(LINE(LT_LOCATIONS311, down, 35, 0), 0);
}

/* Puts len bytes right before an inaccessible page, so a read past them crashes the test. */
static uint8_t *against_guard(uint8_t *pages, long page, size_t len)
{
	return pages + page - len;
}

Test(linetable, reads_nothing_past_len)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *pages = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(pages, MAP_FAILED);
	cr_assert_eq(mprotect(pages + page, (size_t)page, PROT_NONE), 0);
	uint32_t x = 2463534242u;
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)(round % 97);
		uint8_t *t = against_guard(pages, page, len);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			/* half the rounds: every byte a continuation, the worst for varints */
			t[i] = round & 1 ? (uint8_t)(x | 0x40) : (uint8_t)x;
		}
		for (int fmt = LT_LNOTAB; fmt <= LT_LOCATIONS311; fmt++)
			for (uint32_t off = 0; off < 64; off += 2) {
				int line = linetable__line_for((enum lt_format)fmt, t, len, 100, off);
				cr_assert(line >= -1, "format %d: got %d", fmt, line);
			}
	}
	munmap(pages, (size_t)page * 2);
}

Test(linetable, big_tables_stay_linear, .timeout = 10)
{
	size_t len = 16 << 20;
	uint8_t *t = malloc(len);
	cr_assert(t);
	for (int fmt = LT_LNOTAB; fmt <= LT_LOCATIONS311; fmt++) {
		/* every byte of a 3.11 entry a continuation: the slowest shape */
		memset(t, fmt == LT_LOCATIONS311 ? 0x7f : 0, len);
		t[0] = E(14, 1);
		int line = linetable__line_for((enum lt_format)fmt, t, len, 1, UINT32_MAX);
		cr_assert(line >= -1);
	}
	free(t);
}
