/* Reading a command's options: names looked up in the tables of loader/commands.c
 * (and the settings table for run, record and attach), values checked before
 * anything runs, one `filspy:` line with the nearest name for a misspelling. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "filspy/writers.h"
#include "options.h"
#include "suggest.h"

/* One option as found on the command line: a row of the command or a setting. */
struct found {
	const char *name, *arg, *env, *choices;
	enum cli_kind kind;
};

/* "run" errors keep the historical "filspy: unknown option" shape */
static const char *prefix(const cli_command *c, char *buf, size_t size)
{
	if (!strcmp(c->name, "run"))
		return "";
	snprintf(buf, size, "%s: ", c->name);
	return buf;
}

static bool lookup(const cli_command *c, const char *name, size_t len, char short_name,
		   struct found *out)
{
	for (const cli_option *o = c->options; o->name; o++)
		if (short_name ? o->short_name == short_name
			       : strlen(o->name) == len && !strncmp(o->name, name, len)) {
			*out = (struct found){ o->name, o->arg, o->env, o->choices, o->kind };
			return true;
		}
	for (const fs_setting_info *s = commands__next_setting(c, NULL); s && !short_name;
	     s = commands__next_setting(c, s))
		if (strlen(s->option) == len && !strncmp(s->option, name, len)) {
			*out = (struct found){ s->option, s->arg, s->env, NULL, CLI_SETTING };
			return true;
		}
	return false;
}

static void unknown(const cli_command *c, const char *arg)
{
	char pre[32], word[64];
	const char *best = NULL;
	int best_d = 1 << 20;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg, "="), arg);
	if (word[0] == '-' && word[1] == '-') {
		for (const cli_option *o = c->options; o->name; o++)
			suggest__consider(word + 2, o->name, &best, &best_d);
		for (const fs_setting_info *s = commands__next_setting(c, NULL); s;
		     s = commands__next_setting(c, s))
			suggest__consider(word + 2, s->option, &best, &best_d);
	}
	if (best)
		fs_error("%sunknown option %s; did you mean --%s? (see filspy %s --help)",
			 prefix(c, pre, sizeof(pre)), word, best, c->name);
	else
		fs_error("%sunknown option %s (see filspy %s --help)", prefix(c, pre, sizeof(pre)),
			 word, c->name);
}

static const fs_setting_info *setting_of(const char *env)
{
	for (const fs_setting_info *s = settings__table; env && s->env; s++)
		if (!strcmp(s->env, env))
			return s;
	return NULL;
}

/* What the setting's parser says of value: "" when it takes it. Its "; using X"
 * tail is cut: on the command line a bad value is an error, not a fallback. */
static const char *setting_complaint(const char *env, const char *value, char *buf, size_t size)
{
	const fs_setting_info *s = setting_of(env);
	if (!s)
		return ""; /* a setting this build does not know: the agent will say so */
	char entry[PATH_MAX + 64];
	snprintf(entry, sizeof(entry), "%s=%s", env, value);
	char *envp[] = { entry, NULL };
	static fs_settings parsed;
	settings__parse(&parsed, envp);
	if (!parsed.n_messages)
		return "";
	snprintf(buf, size, "%s", parsed.messages[0]);
	char *tail = strrchr(buf, ';');
	if (tail)
		*tail = 0;
	return buf;
}

static bool positive_number(const char *v, bool whole)
{
	char *end;
	double d = strtod(v, &end);
	return *v && !*end && d > 0 && d < 1e9 && (!whole || (long)d == d);
}

/* Returns 0 when value suits f, else -1 after saying why. */
static int check_value(const cli_command *c, const struct found *f, const char *value)
{
	char pre[32], why[FS_MESSAGE_LEN + 64] = "";
	switch (f->kind) {
	case CLI_INT:
		if (!positive_number(value, true))
			snprintf(why, sizeof(why), "'%s' is not a whole number of at least 1", value);
		break;
	case CLI_SECONDS:
		if (!positive_number(value, false))
			snprintf(why, sizeof(why), "'%s' is not a positive number of seconds", value);
		break;
	case CLI_PID:
		if (!positive_number(value, true) || atol(value) > 4194304)
			snprintf(why, sizeof(why), "'%s' is not a process id", value);
		break;
	case CLI_CHOICE: {
		size_t n = strlen(value);
		const char *p = strstr(f->choices, value);
		bool ok = n && p && (p == f->choices || p[-1] == '|') && (!p[n] || p[n] == '|');
		if (!ok)
			snprintf(why, sizeof(why), "'%s' is not one of %s", value, f->choices);
		break;
	}
	case CLI_FORMAT: {
		const fs_format_info *fmt = formats__named(value);
		char names[128];
		if (!fmt || !fmt->write)
			snprintf(why, sizeof(why), "unknown format '%s' (%s)", value,
				 formats__names(names, sizeof(names), ", ", true));
		break;
	}
	case CLI_SETTING:
		setting_complaint(f->env, value, why, sizeof(why));
		break;
	case CLI_FLAG:
	case CLI_TEXT:
		break;
	}
	if (!why[0])
		return 0;
	fs_error("%s--%s: %s", prefix(c, pre, sizeof(pre)), f->name, why);
	return -1;
}

/* Finds the option argv[*i] names (for a cluster of short flags, the one at
 * (*i, *at)) and its value, moving *i past what it used. Returns 1 with *f and
 * *value set, 0 when argv[*i] is an operand, -1 after an error. */
static int next_option(const cli_command *c, int argc, char **argv, int *i, int *at,
		       struct found *f, const char **value)
{
	const char *a = argv[*i];
	char pre[32];
	*value = NULL;
	if (*at == 0) {
		if (a[0] != '-' || !a[1] || !strcmp(a, "--"))
			return 0;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			if (!lookup(c, name, eq ? (size_t)(eq - name) : strlen(name), 0, f)) {
				unknown(c, a);
				return -1;
			}
			if (eq && !f->arg && f->kind != CLI_SETTING) {
				fs_error("%s--%s takes no value", prefix(c, pre, sizeof(pre)), f->name);
				return -1;
			}
			*value = eq ? eq + 1 : NULL;
			(*i)++;
			goto value;
		}
		*at = 1;
	}
	if (!lookup(c, NULL, 0, a[*at], f)) {
		char opt[3] = { '-', a[*at], 0 };
		unknown(c, opt);
		return -1;
	}
	(*at)++;
	if (f->arg && a[*at]) { /* -r200 */
		*value = a + *at;
		*at = 0;
		(*i)++;
	} else if (!a[*at] || f->arg) {
		*at = 0;
		(*i)++;
	}
value:
	if (f->arg && !*value) {
		/* "--rate -- python": the "--" is not a rate */
		if (*i >= argc || !strncmp(argv[*i], "--", 2)) {
			fs_error("%s--%s needs a value (%s)", prefix(c, pre, sizeof(pre)), f->name,
				 f->arg);
			return -1;
		}
		*value = argv[(*i)++];
	}
	if (f->arg && check_value(c, f, *value) < 0)
		return -1;
	return 1;
}

int options__check(const cli_command *c, int argc, char **argv)
{
	int i = 1, at = 0;
	while (i < argc) {
		if (at == 0 && !strcmp(argv[i], "--"))
			break;
		struct found f;
		const char *value;
		int r = next_option(c, argc, argv, &i, &at, &f, &value);
		if (r < 0)
			return -1;
		if (r == 0) {
			i++;
			continue;
		}
		if (!strcmp(f.name, "help")) {
			commands__usage(c, stdout);
			return 1;
		}
	}
	return 0;
}

const fs_format_info *options__format_of_file(const char *path)
{
	static const struct { const char *ext, *format; } by_ext[] = {
		{ ".svg", "svg" }, { ".txt", "raw" }, { ".folded", "raw" }, { ".json", "speedscope" },
		{ ".pb", "pprof" }, { ".pb.gz", "pprof" }, { ".pprof", "pprof" },
	};
	size_t n = strlen(path);
	for (size_t k = 0; k < sizeof(by_ext) / sizeof(*by_ext); k++) {
		size_t e = strlen(by_ext[k].ext);
		if (n > e && !strcmp(path + n - e, by_ext[k].ext))
			return formats__named(by_ext[k].format);
	}
	return NULL;
}

/* --output svg,raw: every word a format name, nothing like a path */
static bool names_formats(const char *v)
{
	if (!*v || strpbrk(v, "./"))
		return false;
	char word[64];
	for (const char *p = v; *p;) {
		size_t n = strcspn(p, ",");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (!formats__named(word))
			return false;
		p += n + (p[n] == ',');
	}
	return true;
}

static int set_file(const char *file, const char *format)
{
	static char abs[PATH_MAX];
	char cwd[PATH_MAX - 256];
	if (file[0] != '/' && getcwd(cwd, sizeof(cwd)))
		snprintf(abs, sizeof(abs), "%s/%s", cwd, file);
	else
		snprintf(abs, sizeof(abs), "%s", file);
	setenv("FIL_PERF_SPY_FILE", abs, 1);
	/* the rest (a checkpoint while it runs, the descendants' files) beside FILE, not
	 * in an outputs/perf made for nothing, unless a directory was asked for */
	if (!getenv("FIL_PERF_OUTPUT_DIR")) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", abs);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = 0;
			setenv("FIL_PERF_OUTPUT_DIR", dir, 1);
		}
	}
	if (!format) {
		const fs_format_info *fmt = options__format_of_file(file);
		/* no known extension: py-spy's default, a flamegraph */
		setenv("FIL_PERF_SPY_OUTPUT", fmt ? fmt->name : "svg", 1);
	}
	return 0;
}

int options__apply_profile(const cli_command *c, int argc, char **argv, int i,
			   cli_profile_args *out)
{
	int at = 0;
	*out = (cli_profile_args){ 0 };
	while (i < argc) {
		if (at == 0 && !strcmp(argv[i], "--")) {
			i++;
			break;
		}
		struct found f;
		const char *value;
		int r = next_option(c, argc, argv, &i, &at, &f, &value);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		if (!strcmp(f.name, "help")) {
			commands__usage(c, stdout);
			out->help = true;
			return argc;
		}
		if (!strcmp(f.name, "file")) { /* the setting's own spelling of -o */
			out->file = value;
			continue;
		}
		if (!strcmp(f.name, "output")) {
			if (names_formats(value))
				setenv("FIL_PERF_SPY_OUTPUT", value, 1);
			else
				out->file = value;
			continue;
		}
		if (!strcmp(f.name, "format"))
			out->format = value;
		if (!f.env)
			continue; /* py-spy's flags that change nothing here */
		if (!f.arg) {
			value = value ? value : "1";
			if (check_value(c, &f, value) < 0)
				return -1;
		}
		setenv(f.env, value, 1);
	}
	if (out->file)
		set_file(out->file, out->format);
	return i;
}
