/* Settings as pydantic-settings reads them: case-insensitive names, booleans, ranges. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "filspy/settings.h"

static fs_settings parse(char **env)
{
	fs_settings s;
	settings__parse(&s, env);
	return s;
}

Test(settings, defaults_without_variables)
{
	char *env[] = { "PATH=/bin", NULL };
	fs_settings s = parse(env);
	cr_assert_not(s.enabled);
	cr_assert_eq(s.rate_hz, 100);
	cr_assert_eq(s.formats, FS_FORMAT_SVG);
	cr_assert_str_eq(s.output_dir, "outputs/perf");
	cr_assert_str_eq(s.process, "*");
	cr_assert_eq(s.backend, FS_BACKEND_AUTO);
	cr_assert_eq(s.n_messages, 0);
}

Test(settings, booleans_as_pydantic_parses_them)
{
	const char *yes[] = { "1", "true", "TRUE", " yes ", "On", "t", "Y" };
	const char *no[] = { "0", "false", "No", "off", "F", "n" };
	char buf[64];
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		snprintf(buf, sizeof(buf), "FIL_PERF_SPY_ENABLED=%s", yes[i]);
		char *env[] = { buf, NULL };
		fs_settings s = parse(env);
		cr_assert(s.enabled, "%s", yes[i]);
		cr_assert_eq(s.n_messages, 0);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(*no); i++) {
		snprintf(buf, sizeof(buf), "FIL_PERF_SPY_ENABLED=%s", no[i]);
		char *env[] = { buf, NULL };
		cr_assert_not(parse(env).enabled, "%s", no[i]);
	}
}

Test(settings, names_match_regardless_of_case_and_alias_works)
{
	char *env[] = { "fil_perf_spy_rate=250", "Fil_Perf_Enable_PySpy=yes", NULL };
	fs_settings s = parse(env);
	cr_assert_eq(s.rate_hz, 250);
	cr_assert(s.enabled);
}

Test(settings, bad_values_keep_defaults_and_say_so)
{
	char *env[] = { "FIL_PERF_SPY_RATE=abc", "FIL_PERF_SPY_ENABLED=maybe",
			"FIL_PERF_SPY_OUTPUT=svg,gif", "FIL_PERF_SPY_BACKEND=gpu",
			"FIL_PERF_SPY_DURATION=-1", "FIL_PERF_SPY_MODE=watch", NULL };
	fs_settings s = parse(env);
	cr_assert_eq(s.rate_hz, 100);
	cr_assert_not(s.enabled);
	cr_assert_eq(s.formats, FS_FORMAT_SVG);
	cr_assert_eq(s.backend, FS_BACKEND_AUTO);
	cr_assert_eq(s.duration_s, 0);
	cr_assert_eq(s.n_messages, 6);
	cr_assert(strstr(s.messages[0], "FIL_PERF_SPY_RATE='abc'"));
	cr_assert(strstr(s.messages[1], "'maybe'"));
	cr_assert(strstr(s.messages[2], "'gif'"));
}

Test(settings, rate_range)
{
	char *zero[] = { "FIL_PERF_SPY_RATE=0", NULL };
	char *huge[] = { "FIL_PERF_SPY_RATE=10001", NULL };
	char *top[] = { "FIL_PERF_SPY_RATE=10000", NULL };
	cr_assert_eq(parse(zero).rate_hz, 100);
	cr_assert_eq(parse(huge).rate_hz, 100);
	cr_assert_eq(parse(top).rate_hz, 10000);
}

Test(settings, formats_list)
{
	char *env[] = { "FIL_PERF_SPY_OUTPUT= raw , SVG,speedscope,pprof", NULL };
	cr_assert_eq(parse(env).formats,
		     FS_FORMAT_RAW | FS_FORMAT_SVG | FS_FORMAT_SPEEDSCOPE | FS_FORMAT_PPROF);
}

Test(settings, gil_view_is_a_format)
{
	char *env[] = { "FIL_PERF_SPY_OUTPUT=raw,GIL", NULL };
	fs_settings s = parse(env);
	cr_assert_eq(s.formats, FS_FORMAT_RAW | FS_FORMAT_GIL);
	cr_assert_eq(s.n_messages, 0);
}

Test(settings, label_is_a_file_name_stem_never_a_path)
{
	char *env[] = { "FIL_PERF_RUN_LABEL=../../etc/x y", NULL };
	fs_settings s = parse(env);
	cr_assert_str_eq(s.label, ".._.._etc_x_y");
	cr_assert_eq(s.n_messages, 1);
	char *dots[] = { "FIL_PERF_RUN_LABEL=..", NULL };
	cr_assert_str_eq(parse(dots).label, "_.");
	char *fine[] = { "FIL_PERF_RUN_LABEL=ci-run_3.1", NULL };
	fs_settings f = parse(fine);
	cr_assert_str_eq(f.label, "ci-run_3.1");
	cr_assert_eq(f.n_messages, 0);
}

Test(settings, unknown_variable_of_our_prefix_is_named)
{
	char *env[] = { "FIL_PERF_SPY_RAET=5", "FIL_PERF_OTHER=1", NULL };
	fs_settings s = parse(env);
	cr_assert_eq(s.n_messages, 1);
	cr_assert(strstr(s.messages[0], "FIL_PERF_SPY_RAET"));
}

Test(settings, globs)
{
	cr_assert(settings__matches_globs("*", "python3"));
	cr_assert(settings__matches_globs("filare, pytest*", "pytest-3"));
	cr_assert_not(settings__matches_globs("filare,dot", "python3"));
	cr_assert_not(settings__matches_globs("", "x"));
}
