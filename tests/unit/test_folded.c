/* Reading folded stacks back: what the raw writer writes, py-spy's files, bad lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/folded.h"
#include "filspy/writers.h"

static int read_text(fs_profile *p, const char *text, long *bad)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err = folded__read(p, f, bad);
	fclose(f);
	return err;
}

static char *raw_of(fs_profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	out_raw__write(p, NULL, f);
	fclose(f);
	return buf;
}

Test(folded, split_frame)
{
	char a[] = "handle (app/views.py:42)", b[] = "thread (7): main", c[] = "f (x (y).py:3)";
	char *name, *file;
	int line;
	folded__split_frame(a, &name, &file, &line);
	cr_assert_str_eq(name, "handle");
	cr_assert_str_eq(file, "app/views.py");
	cr_assert_eq(line, 42);
	folded__split_frame(b, &name, &file, &line);
	cr_assert_str_eq(name, "thread (7): main");
	cr_assert_str_eq(file, "");
	folded__split_frame(c, &name, &file, &line);
	cr_assert_str_eq(name, "f (x");
	cr_assert_str_eq(file, "y).py");
	cr_assert_eq(line, 3);
}

Test(folded, round_trip_and_duplicates_summed)
{
	const char *text = "<module> (a.py:1);f (a.py:3) 5\n"
			   "<module> (a.py:1);g (b.py:9) 2\n"
			   "\n"
			   "<module> (a.py:1);f (a.py:3) 1\n";
	fs_profile *p = profile__new(0);
	long bad;
	cr_assert_eq(read_text(p, text, &bad), 0);
	cr_assert_eq(profile__samples(p), 8);
	cr_assert_eq(read_text(p, " 3\n", &bad), 0, "py-spy's frameless samples are skipped");
	cr_assert_eq(profile__samples(p), 8);
	char *raw = raw_of(p);
	cr_assert(strstr(raw, "<module> (a.py:1);f (a.py:3) 6\n"), "%s", raw);
	cr_assert(strstr(raw, "<module> (a.py:1);g (b.py:9) 2\n"), "%s", raw);
	free(raw);
	profile__free(p);
}

Test(folded, bad_lines_are_named)
{
	const char *cases[] = { "a;b 1\nno count here\n", "a;b 1\na;b -3\n", "a;b 1\na;;b 2\n",
				"a;b 1\n;b 4\n", "a;b 1\na;b 0\n", "a;b 1\na;b 12x\n" };
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		fs_profile *p = profile__new(0);
		long bad = 0;
		cr_assert_eq(read_text(p, cases[i], &bad), -EINVAL, "case %zu", i);
		cr_assert_eq(bad, 2, "case %zu", i);
		profile__free(p);
	}
}
