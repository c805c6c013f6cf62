/* The stack tree: counting, sharing prefixes, the node budget, raw output. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/profile.h"
#include "filspy/writers.h"

static char *raw_of(fs_profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(out_raw__write(p, NULL, f), 0);
	fclose(f);
	return buf;
}

Test(profile, counts_and_shares_prefixes)
{
	fs_profile *p = profile__new(0);
	fs_frame_id m = profile__intern_frame(p, 1, 1, "<module>", "app.py", FS_ORIGIN_OWN);
	fs_frame_id a = profile__intern_frame(p, 2, 5, "a", "app.py", FS_ORIGIN_OWN);
	fs_frame_id b = profile__intern_frame(p, 3, 9, "b", "lib/b.py", FS_ORIGIN_PACKAGE);
	cr_assert_eq(profile__intern_frame(p, 2, 5, "ignored", "x", 0), a, "same key and line");
	cr_assert_neq(profile__intern_frame(p, 2, 6, "a", "app.py", 0), a, "another line");
	fs_frame_id s1[] = { m, a }, s2[] = { m, a, b }, s3[] = { m, b };
	profile__add_stack(p, s1, 2, 3);
	profile__add_stack(p, s2, 3, 2);
	profile__add_stack(p, s3, 2, 1);
	profile__add_stack(p, s1, 2, 1);
	cr_assert_eq(profile__samples(p), 7);
	cr_assert_eq(profile__node_count(p), 5); /* root, m, m;a, m;a;b, m;b */
	profile__finish_totals(p);
	cr_assert_eq(profile__node(p, FS_ROOT_NODE)->total, 7);
	const fs_node_id *kids;
	cr_assert_eq(profile__children(p, FS_ROOT_NODE, &kids), 1);
	cr_assert_eq(profile__node(p, kids[0])->total, 7);
	fs_node_id module = kids[0];
	cr_assert_eq(profile__children(p, module, &kids), 2);
	cr_assert_str_eq(profile__frame(p, profile__node(p, kids[0])->frame)->name, "a", "sorted by name");
	char *raw = raw_of(p);
	cr_assert(strstr(raw, "<module> (app.py:1);a (app.py:5) 4\n"));
	cr_assert(strstr(raw, "<module> (app.py:1);a (app.py:5);b (lib/b.py:9) 2\n"));
	cr_assert(strstr(raw, "<module> (app.py:1);b (lib/b.py:9) 1\n"));
	free(raw);
	profile__free(p);
}

Test(profile, node_budget_shows_an_overflow_frame)
{
	fs_profile *p = profile__new(4);
	fs_frame_id f[8];
	char name[8];
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		f[i] = profile__intern_frame(p, (uint64_t)i + 10, 1, name, "x.py", FS_ORIGIN_OWN);
	}
	profile__add_stack(p, f, 2, 1);     /* root + 2 nodes */
	profile__add_stack(p, f + 2, 3, 5); /* over budget: counted, not lost */
	cr_assert_eq(profile__samples(p), 6);
	cr_assert_eq(profile__merged(p), 5);
	char *raw = raw_of(p);
	/* the overflow node comes from a reserve beyond the budget */
	cr_assert(strstr(raw, "f2 (x.py:1);[more stacks than filspy keeps] 5\n"), "%s", raw);
	free(raw);
	profile__free(p);
}

Test(profile, raw_never_breaks_the_folded_format)
{
	fs_profile *p = profile__new(0);
	fs_frame_id a = profile__intern_frame(p, 1, 3, "odd;name\nhere", "we;ird.py", FS_ORIGIN_OWN);
	fs_frame_id t = profile__intern_frame(p, 2, 0, "thread (7): main", "", FS_ORIGIN_SPECIAL);
	fs_frame_id s[] = { t, a };
	profile__add_stack(p, s, 2, 9);
	char *raw = raw_of(p);
	cr_assert_str_eq(raw, "thread (7): main;odd:name here (we:ird.py:3) 9\n");
	free(raw);
	profile__free(p);
}

Test(profile, deep_stacks_are_kept_whole)
{
	fs_profile *p = profile__new(0);
	enum { DEPTH = 1500 };
	static fs_frame_id s[DEPTH];
	fs_frame_id r = profile__intern_frame(p, 1, 2, "recurse", "r.py", FS_ORIGIN_OWN);
	for (int i = 0; i < DEPTH; i++)
		s[i] = r;
	profile__add_stack(p, s, DEPTH, 1);
	char *raw = raw_of(p);
	size_t frames = 1;
	for (char *c = raw; *c; c++)
		frames += *c == ';';
	cr_assert_eq(frames, DEPTH);
	free(raw);
	profile__free(p);
}

Test(profile, a_renamed_frame_keeps_its_samples_under_the_new_name)
{
	fs_profile *p = profile__new(0);
	fs_frame_id t = profile__intern_frame(p, 7, 0, "thread (9): python3", "", FS_ORIGIN_SPECIAL);
	fs_frame_id f = profile__intern_frame(p, 8, 3, "work", "app.py", FS_ORIGIN_OWN);
	fs_frame_id s[] = { t, f };
	profile__add_stack(p, s, 2, 2);
	cr_assert_eq(profile__rename_frame(p, t, "thread (9): worker"), 0);
	profile__add_stack(p, s, 2, 1);
	cr_assert_eq(profile__rename_frame(p, 12345, "x"), -1);
	char *raw = raw_of(p);
	cr_assert_str_eq(raw, "thread (9): worker;work (app.py:3) 3\n");
	free(raw);
	profile__free(p);
}

Test(profile, a_stack_again_at_its_node_counts_as_added_again)
{
	fs_profile *p = profile__new(0), *q = profile__new(0);
	fs_frame_id m = profile__intern_frame(p, 1, 1, "<module>", "app.py", FS_ORIGIN_OWN);
	fs_frame_id a = profile__intern_frame(p, 2, 5, "a", "app.py", FS_ORIGIN_OWN);
	cr_assert_eq(profile__intern_frame(q, 1, 1, "<module>", "app.py", FS_ORIGIN_OWN), m);
	cr_assert_eq(profile__intern_frame(q, 2, 5, "a", "app.py", FS_ORIGIN_OWN), a);
	fs_frame_id s[] = { m, a };
	fs_node_id leaf = profile__add_thread_stack_at(p, 7, NULL, s, 2, 1);
	profile__add_at_node(p, 7, NULL, leaf, 4);
	profile__add_thread_stack(q, 7, NULL, s, 2, 5);
	char *pr = raw_of(p), *qr = raw_of(q);
	cr_assert_str_eq(pr, qr);
	cr_assert_str_eq(pr, "<module> (app.py:1);a (app.py:5) 5\n");
	free(pr);
	free(qr);
	profile__free(p);
	profile__free(q);
}
