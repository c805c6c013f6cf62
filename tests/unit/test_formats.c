/* The output-format table, the settings that read it, and the aside-then-rename writer. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filspy/settings.h"
#include "filspy/writers.h"

static size_t rows(void)
{
	size_t n = 0;
	while (formats__table[n].name)
		n++;
	return n;
}

static fs_settings parse_output(const char *value)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "FIL_PERF_SPY_OUTPUT=%s", value);
	char *env[] = { buf, NULL };
	fs_settings s;
	settings__parse(&s, env);
	return s;
}

Test(formats, every_row_has_its_own_name_suffix_and_bit)
{
	size_t n = rows();
	cr_assert_eq(n, FS_FORMAT_ROWS);
	for (size_t i = 0; i < n; i++) {
		const fs_format_info *f = &formats__table[i];
		cr_assert_eq(f->flag, 1u << i, "%s: its bit is its row", f->name);
		cr_assert(f->suffix && !strncmp(f->suffix, "-pyspy", 6), "%s", f->name);
		for (const char *c = f->name; *c; c++)
			cr_assert(islower((unsigned char)*c), "%s: names are lower case", f->name);
		for (size_t j = 0; j < i; j++) {
			cr_assert_str_neq(f->name, formats__table[j].name);
			cr_assert_str_neq(f->suffix, formats__table[j].suffix);
		}
	}
	cr_assert_eq(formats__table[FS_FORMAT_ROW_RAW].flag, FS_FORMAT_RAW);
	cr_assert_eq(formats__table[FS_FORMAT_ROW_GIL].flag, FS_FORMAT_GIL);
}

Test(formats, the_bits_the_rest_of_filspy_names)
{
	cr_assert_eq(FS_FORMAT_SVG, 1 << 0);
	cr_assert_eq(FS_FORMAT_RAW, 1 << 1);
	cr_assert_eq(FS_FORMAT_SPEEDSCOPE, 1 << 2);
	cr_assert_eq(FS_FORMAT_PPROF, 1 << 3);
	cr_assert_eq(FS_FORMAT_GIL, 1 << 4);
	cr_assert_str_eq(formats__named("gil")->suffix, "-pyspy-gil.svg");
	cr_assert_str_eq(formats__named("svg")->suffix, "-pyspy.svg");
}

Test(formats, only_gil_is_written_without_a_profile)
{
	for (const fs_format_info *f = formats__table; f->name; f++)
		cr_assert_eq(f->write == NULL, f->flag == FS_FORMAT_GIL, "%s", f->name);
}

Test(formats, settings_parse_every_name_and_alias_to_its_bit)
{
	for (const fs_format_info *f = formats__table; f->name; f++) {
		cr_assert_eq(formats__named(f->name), f);
		fs_settings s = parse_output(f->name);
		cr_assert_eq(s.formats, (unsigned)f->flag, "%s", f->name);
		cr_assert_eq(s.n_messages, 0, "%s", f->name);
		char upper[32];
		size_t k;
		for (k = 0; f->name[k] && k < sizeof(upper) - 1; k++)
			upper[k] = (char)toupper((unsigned char)f->name[k]);
		upper[k] = 0;
		cr_assert_eq(formats__named(upper), f, "%s", upper);
		cr_assert_eq(parse_output(upper).formats, (unsigned)f->flag, "%s", upper);
		for (const char *a = f->aliases; a && *a;) {
			char alias[32];
			size_t len = strcspn(a, ",");
			snprintf(alias, sizeof(alias), "%.*s", (int)len, a);
			cr_assert_eq(formats__named(alias), f, "%s", alias);
			cr_assert_eq(parse_output(alias).formats, (unsigned)f->flag, "%s", alias);
			a += len + (a[len] == ',');
		}
	}
	cr_assert_eq(formats__named("flamegraph"), formats__named("svg"), "py-spy's name");
	cr_assert_null(formats__named("gif"));
	cr_assert_null(formats__named(""));
	cr_assert_null(formats__named("sv"));
}

/* A format added after these keeps the lists' beginnings as they were. */
#define KNOWN "svg, raw, speedscope, pprof, gil"

Test(formats, names_for_messages_and_help)
{
	char buf[128];
	cr_assert(!strncmp(formats__names(buf, sizeof(buf), ", ", false), KNOWN, strlen(KNOWN)),
		  "%s", buf);
	cr_assert(!strncmp(formats__names(buf, sizeof(buf), "|", true), "svg|raw|speedscope|pprof",
			   strlen("svg|raw|speedscope|pprof")), "%s", buf);
	cr_assert_null(strstr(buf, "gil"), "report cannot write the GIL view");
	char tiny[6];
	cr_assert_str_eq(formats__names(tiny, sizeof(tiny), ",", false), "svg,r", "cut to fit");
	fs_settings s = parse_output("svg,gif");
	cr_assert_eq(s.n_messages, 1);
	cr_assert(strstr(s.messages[0], "'gif' (known: " KNOWN), "%s", s.messages[0]);
}

Test(formats, the_output_settings_help_lists_every_format)
{
	const fs_setting_info *out = NULL;
	for (const fs_setting_info *t = settings__table; t->env; t++)
		if (!strcmp(t->env, "FIL_PERF_SPY_OUTPUT"))
			out = t;
	cr_assert_not_null(out);
	char help[160], names[128], expected[160];
	snprintf(expected, sizeof(expected), "formats: %s (svg)",
		 formats__names(names, sizeof(names), ",", false));
	cr_assert_str_eq(settings__help(out, help, sizeof(help)), expected);
	cr_assert(!strncmp(help, "formats: svg,raw,speedscope,pprof,gil", 37), "%s", help);
	cr_assert_str_eq(settings__help(&settings__table[0], help, sizeof(help)),
			 "master switch (set by `filspy run`)");
}

/* "<module> (app.py:1);a (app.py:5) 3" */
static fs_profile *small_profile(void)
{
	fs_profile *p = profile__new(0);
	cr_assert_not_null(p);
	fs_frame_id stack[] = {
		profile__intern_frame(p, 1, 1, "<module>", "app.py", FS_ORIGIN_OWN),
		profile__intern_frame(p, 2, 5, "a", "app.py", FS_ORIGIN_OWN),
	};
	profile__add_stack(p, stack, 2, 3);
	return p;
}

Test(formats, every_writer_writes_a_small_profile)
{
	fs_profile *p = small_profile();
	fs_profile_meta meta = { .title = "t", .rate_hz = 100 };
	for (const fs_format_info *f = formats__table; f->name; f++) {
		if (!f->write)
			continue;
		char *buf = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&buf, &len);
		cr_assert_eq(f->write(p, &meta, mem), 0, "%s", f->name);
		fclose(mem);
		cr_assert_gt(len, 0, "%s", f->name);
		free(buf);
	}
	profile__free(p);
}

static int write_text(void *ctx, FILE *f)
{
	fputs(ctx, f);
	return 0;
}

static int fail_after_half(void *ctx, FILE *f)
{
	fputs(ctx, f);
	return -ENOSPC;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[256];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

Test(atomic_file, replaces_whole_or_not_at_all)
{
	char dir[] = "/tmp/filspy-test-atomic-XXXXXX";
	cr_assert_not_null(mkdtemp(dir));
	char path[128], tmp[160];
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());

	cr_assert_eq(atomic_file__write(path, write_text, "first\n"), 0);
	cr_assert_str_eq(slurp(path), "first\n");
	cr_assert_eq(atomic_file__write(path, write_text, "second\n"), 0);
	cr_assert_str_eq(slurp(path), "second\n");

	cr_assert_eq(atomic_file__write(path, fail_after_half, "half"), -ENOSPC);
	cr_assert_str_eq(slurp(path), "second\n", "a failed write keeps the old file");
	struct stat st;
	cr_assert_neq(stat(tmp, &st), 0, "and leaves no temporary file");

	char missing[160];
	snprintf(missing, sizeof(missing), "%s/no/such/dir", dir);
	cr_assert_eq(atomic_file__write(missing, write_text, "x"), -ENOENT);

	fs_profile *p = small_profile();
	fs_format_job job = { formats__named("raw"), p, NULL };
	cr_assert_eq(atomic_file__write(path, formats__write_job, &job), 0);
	cr_assert_str_eq(slurp(path), "<module> (app.py:1);a (app.py:5) 3\n");
	profile__free(p);

	unlink(path);
	rmdir(dir);
}
