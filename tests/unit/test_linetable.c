/* Line-table decoders against each interpreter's own answers (fixtures made by
 * scripts/gen-linetable-fixtures.py with PyCode_Addr2Line) and edge cases. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"

#define FIXTURES "tests/unit/fixtures/linetable"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; hex[0] && hex[1] && n < cap; hex += 2) {
		unsigned v;
		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* Checks every pair of one fixture file; returns how many. */
static long check_file(const char *path)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	char *line = NULL;
	size_t cap = 0;
	long pairs = 0, number = 0;
	static uint8_t table[1 << 20];
	while (getline(&line, &cap, f) > 0) {
		number++;
		int fmt, first;
		char *save, *hex, *list;
		fmt = atoi(strtok_r(line, " ", &save));
		first = atoi(strtok_r(NULL, " ", &save));
		hex = strtok_r(NULL, " ", &save);
		list = strtok_r(NULL, " \n", &save);
		cr_assert(hex && list, "%s line %ld is malformed", path, number);
		size_t len = strcmp(hex, "-") ? unhex(hex, table, sizeof(table)) : 0;
		for (char *s2, *pair = strtok_r(list, ",", &s2); pair; pair = strtok_r(NULL, ",", &s2)) {
			unsigned offset;
			int want;
			if (sscanf(pair, "%u:%d", &offset, &want) != 2)
				continue;
			int got = linetable__line_for((enum lt_format)fmt, table, len, first, offset);
			cr_assert_eq(got, want, "%s line %ld: offset %u: got %d, the interpreter says %d",
				     path, number, offset, got, want);
			pairs++;
		}
	}
	free(line);
	fclose(f);
	return pairs;
}

Test(linetable, agrees_with_every_interpreter)
{
	DIR *d = opendir(FIXTURES);
	cr_assert(d, "run from the repository root (%s)", FIXTURES);
	int files = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strstr(e->d_name, ".txt"))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", FIXTURES, e->d_name);
		long n = check_file(path);
		cr_log_info("linetable: CPython %.*s: %ld offsets agree", (int)(strlen(e->d_name) - 4),
			    e->d_name, n);
		cr_assert_gt(n, 1000, "%s has too few pairs", path);
		files++;
	}
	closedir(d);
	cr_assert_geq(files, 1, "no fixtures");
}

Test(linetable, empty_and_truncated_tables)
{
	cr_assert_eq(linetable__line_for(LT_LNOTAB, NULL, 0, 7, 10), 7);
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, NULL, 0, 7, 0), -1);
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, NULL, 0, 7, 0), -1);
	const uint8_t cut[] = { 0xf0 | 0x80 }; /* a long-form entry with its varints cut off */
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, cut, 1, 5, 0), 5);
	const uint8_t varint_runs_on[] = { 0xf0, 0x7f, 0x7f, 0x7f };
	linetable__line_for(LT_LOCATIONS311, varint_runs_on, sizeof(varint_runs_on), 5, 0);
}

Test(linetable, no_line_entries)
{
	const uint8_t t310[] = { 2, 0, 4, (uint8_t)-128, 2, 1 };
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, t310, sizeof(t310), 10, 0), 10);
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, t310, sizeof(t310), 10, 2), -1);
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, t310, sizeof(t310), 10, 6), 11);
	cr_assert_eq(linetable__line_for(LT_LINETABLE310, t310, sizeof(t310), 10, 8), -1, "past the end");
	const uint8_t t311[] = { 0x80 | (15 << 3), 0x80 | (11 << 3) | 1, 0, 0 };
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, t311, sizeof(t311), 3, 0), -1);
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, t311, sizeof(t311), 3, 2), 4);
	cr_assert_eq(linetable__line_for(LT_LOCATIONS311, t311, sizeof(t311), 3, 4), 4);
}
