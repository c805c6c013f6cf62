/* The time order speedscope shows: per thread, in order, run-length, capped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/imports.h"
#include "filspy/profile.h"
#include "filspy/timeline.h"
#include "filspy/writers.h"

static char *speedscope_of(fs_profile *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(out_speedscope__write(p, NULL, f), 0);
	fclose(f);
	return buf;
}

Test(timeline, keeps_each_threads_order_and_merges_repeats)
{
	fs_profile *p = profile__new(0);
	cr_assert_eq(profile__keep_timeline(p, 0), 0);
	fs_frame_id a = profile__intern_frame(p, 1, 1, "a", "app.py", FS_ORIGIN_OWN);
	fs_frame_id b = profile__intern_frame(p, 2, 2, "b", "app.py", FS_ORIGIN_OWN);
	profile__add_thread_stack(p, 10, "MainThread", &a, 1, 1);
	profile__add_thread_stack(p, 11, "worker", &b, 1, 1);
	profile__add_thread_stack(p, 10, "MainThread", &a, 1, 1); /* merges: same stack */
	profile__add_thread_stack(p, 10, "MainThread", &b, 1, 1);
	profile__add_thread_stack(p, 10, "MainThread", &a, 1, 1);
	size_t n, nt;
	const fs_timeline_entry *e = timeline__entries(profile__timeline(p), &n);
	const fs_timeline_thread *t = timeline__threads(profile__timeline(p), &nt);
	cr_assert_eq(n, 4);
	cr_assert_eq(nt, 2);
	cr_assert_eq(e[0].count, 2);
	cr_assert_str_eq(t[1].name, "worker");
	char *json = speedscope_of(p);
	cr_assert(strstr(json, "\"name\":\"thread (10): MainThread\",\"unit\":\"seconds\",\"startValue\":0,"
			       "\"endValue\":0.040000,\"samples\":[[0],[1],[0]],\"weights\":[0.020000,0.010000,0.010000]"),
		  "%s", json);
	cr_assert(strstr(json, "\"name\":\"thread (11): worker\""), "%s", json);
	free(json);
	profile__free(p);
}

Test(timeline, past_its_cap_the_rest_is_one_aggregated_profile)
{
	fs_profile *p = profile__new(0);
	cr_assert_eq(profile__keep_timeline(p, 2), 0);
	fs_frame_id a = profile__intern_frame(p, 1, 1, "a", "app.py", FS_ORIGIN_OWN);
	fs_frame_id b = profile__intern_frame(p, 2, 2, "b", "app.py", FS_ORIGIN_OWN);
	for (int i = 0; i < 5; i++)
		profile__add_thread_stack(p, 10, "T", i % 2 ? &a : &b, 1, 1);
	cr_assert_eq(timeline__dropped(profile__timeline(p)), 3);
	char *json = speedscope_of(p);
	cr_assert(strstr(json, "\"samples\":[[1],[0]],\"weights\":[0.010000,0.010000]"), "%s", json);
	cr_assert(strstr(json, "samples after the time-order cap (aggregated)"), "%s", json);
	cr_assert(strstr(json, "\"endValue\":0.030000"), "%s", json);
	free(json);
	profile__free(p);
}

Test(timeline, without_one_speedscope_stays_aggregated)
{
	fs_profile *p = profile__new(0);
	fs_frame_id a = profile__intern_frame(p, 1, 1, "a", "app.py", FS_ORIGIN_OWN);
	profile__add_thread_stack(p, 10, "T", &a, 1, 3);
	cr_assert_null(profile__timeline(p));
	char *json = speedscope_of(p);
	cr_assert(strstr(json, "\"samples\":[[0]],\"weights\":[0.030000]"), "%s", json);
	free(json);
	profile__free(p);
}

static fs_frame_id fr(fs_profile *p, uint64_t key, const char *name, const char *file)
{
	return profile__intern_frame(p, key, 1, name, file, FS_ORIGIN_STDLIB);
}

Test(imports, each_import_becomes_one_frame_named_by_its_module)
{
	fs_profile *p = profile__new(0);
	const char *B = "<frozen importlib._bootstrap>", *BE = "<frozen importlib._bootstrap_external>";
	fs_frame_id ids[] = {
		fr(p, 1, "<module>", "app.py"),
		fr(p, 2, "_find_and_load", B), fr(p, 3, "_find_and_load_unlocked", B),
		fr(p, 4, "_load_unlocked", B), fr(p, 5, "_LoaderBasics.exec_module", BE),
		fr(p, 6, "_call_with_frames_removed", B),
		fr(p, 7, "<module>", "certifi/__init__.py"),
		fr(p, 2, "_find_and_load", B), fr(p, 6, "_call_with_frames_removed", B),
		fr(p, 8, "<module>", "certifi/core.py"),
		fr(p, 9, "_handle_fromlist", "importlib/_bootstrap.py"),
	};
	const char *known[11] = { [1] = "certifi" };
	size_t n = imports__collapse(p, ids, 11, known);
	cr_assert_eq(n, 6);
	cr_assert_str_eq(profile__frame(p, ids[1])->name, "import certifi");
	cr_assert_str_eq(profile__frame(p, ids[1])->file, "");
	cr_assert_str_eq(profile__frame(p, ids[2])->name, "<module>");
	/* no name read: the module it goes on to run names it */
	cr_assert_str_eq(profile__frame(p, ids[3])->name, "import certifi.core");
	/* a run with no _find_and_load and nothing after it */
	cr_assert_str_eq(profile__frame(p, ids[5])->name, "import <module>");
	profile__free(p);
}
