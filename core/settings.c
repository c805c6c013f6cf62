/* Parses the profiler's settings from an environment, pydantic-style. */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "filspy/settings.h"

#define SETTING(env, alias, option, arg, kind, member, help)                               \
	{ env, alias, option, arg, help, FS_SETTING_##kind, offsetof(fs_settings, member), \
	  sizeof(((fs_settings *)0)->member) }

/* One row per setting, in --help's order. FIL_PERF_ENABLE_PYSPY is Filare's
 * PerformanceSettings.enable_pyspy. The output row's help holds a %s that
 * settings__help fills with the format names. */
const fs_setting_info settings__table[] = {
	SETTING("FIL_PERF_SPY_ENABLED", "FIL_PERF_ENABLE_PYSPY", "enabled", NULL, BOOL, enabled,
		"master switch (set by `filspy run`)"),
	SETTING("FIL_PERF_SPY_RATE", NULL, "rate", "HZ", RATE, rate_hz,
		"samples per second per thread, 1..10000 (100)"),
	SETTING("FIL_PERF_SPY_OUTPUT", NULL, "output", "LIST", FORMATS, formats,
		"formats: %s (svg)"),
	SETTING("FIL_PERF_SPY_FILE", NULL, "file", "FILE", PATH, file,
		"the first format's file, exactly (<dir>/<label>-pyspy.<ext>)"),
	SETTING("FIL_PERF_SPY_MODE", NULL, "mode", "MODE", MODE, mode,
		"record or top (record)"),
	SETTING("FIL_PERF_SPY_PID", NULL, "pid", "PID", PID, pid,
		"attach to this process instead of running a command"),
	SETTING("FIL_PERF_SPY_NATIVE", NULL, "native", NULL, BOOL, native,
		"include native (C) frames"),
	SETTING("FIL_PERF_SPY_NATIVE_STACK", NULL, "native-stack", "KIB", KIB, native_stack_kib,
		"KiB of stack copied per native sample, 4..64 (16)"),
	SETTING("FIL_PERF_SPY_GIL", NULL, "gil", NULL, BOOL, gil,
		"keep only samples of threads holding the GIL"),
	SETTING("FIL_PERF_SPY_IDLE", NULL, "idle", NULL, BOOL, idle,
		"keep samples of idle threads too"),
	SETTING("FIL_PERF_SPY_THREADS", NULL, "threads", NULL, BOOL, threads,
		"add a root frame per thread"),
	SETTING("FIL_PERF_SPY_FUNCTION", NULL, "function", NULL, BOOL, function,
		"one frame per function, at its first line"),
	SETTING("FIL_PERF_SPY_NOLINENO", NULL, "nolineno", NULL, BOOL, nolineno,
		"frames without line numbers"),
	SETTING("FIL_PERF_SPY_RAW_IMPORTS", NULL, "raw-imports", NULL, BOOL, raw_imports,
		"keep import machinery frames (not `import NAME`)"),
	SETTING("FIL_PERF_SPY_FULL_FILENAMES", NULL, "full-filenames", NULL, BOOL, full_filenames,
		"whole file paths (not from the package on)"),
	SETTING("FIL_PERF_SPY_BLOCKLIST", NULL, "blocklist", "GLOBS", GLOBS, blocklist,
		"thread names never sampled"),
	SETTING("FIL_PERF_SPY_BACKEND", NULL, "backend", "NAME", BACKEND, backend,
		"auto, bpf, pyspy or self (auto)"),
	SETTING("FIL_PERF_SPY_PYSPY", NULL, "pyspy", "PATH", PATH, pyspy,
		"the py-spy binary (py-spy on PATH)"),
	SETTING("FIL_PERF_SPY_SUBPROCESSES", NULL, "subprocesses", NULL, BOOL, subprocesses,
		"profile forked Python children too"),
	SETTING("FIL_PERF_SPY_DURATION", NULL, "duration", "SECONDS", DURATION, duration_s,
		"stop sampling after this long"),
	SETTING("FIL_PERF_SPY_PROCESS", NULL, "process", "GLOBS", GLOBS, process,
		"program names that profile themselves (*)"),
	SETTING("FIL_PERF_SPY_QUIET", NULL, "quiet", NULL, BOOL, quiet,
		"no informational messages"),
	SETTING("FIL_PERF_SPY_DEBUG", NULL, "debug", NULL, BOOL, debug,
		"debug messages on stderr"),
	SETTING("FIL_PERF_OUTPUT_DIR", NULL, "output-dir", "DIR", PATH, output_dir,
		"where files go (outputs/perf)"),
	SETTING("FIL_PERF_RUN_LABEL", NULL, "label", "LABEL", LABEL, label,
		"file-name stem (<program>-<pid>)"),
	{ 0 },
};

const char *settings__help(const fs_setting_info *s, char *buf, size_t size)
{
	const char *hole = strstr(s->help, "%s");
	if (s->kind != FS_SETTING_FORMATS || !hole)
		return s->help;
	char names[128];
	snprintf(buf, size, "%.*s%s%s", (int)(hole - s->help), s->help,
		 formats__names(names, sizeof(names), ",", false), hole + 2);
	return buf;
}

static void say(fs_settings *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(fs_settings *s, const char *fmt, ...)
{
	if (s->n_messages >= FS_MAX_MESSAGES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->messages[s->n_messages++], FS_MESSAGE_LEN, fmt, ap);
	va_end(ap);
}

/* Copies value without leading and trailing white space into buf. */
static void trimmed(const char *value, char *buf, size_t size)
{
	while (isspace((unsigned char)*value))
		value++;
	size_t n = strlen(value);
	while (n && isspace((unsigned char)value[n - 1]))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(buf, value, n);
	buf[n] = 0;
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on", "t", "y" };
	static const char *const no[] = { "0", "false", "no", "off", "f", "n" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
		if (!strcasecmp(v, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

static int parse_long(const char *v, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

static int parse_formats(const char *v, unsigned *out, char *bad, size_t bad_size)
{
	unsigned bits = 0;
	const char *p = v;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char word[32];
		char raw[64];
		snprintf(raw, sizeof(raw), "%.*s", (int)n, p);
		trimmed(raw, word, sizeof(word));
		if (*word) {
			const fs_format_info *format = formats__named(word);
			if (!format) {
				snprintf(bad, bad_size, "%s", word);
				return -1;
			}
			bits |= (unsigned)format->flag;
		}
		p += n + (comma != NULL);
	}
	if (!bits) {
		snprintf(bad, bad_size, "%s", v);
		return -1;
	}
	*out = bits;
	return 0;
}

void settings__sanitize_label(char *label)
{
	for (char *c = label; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-')
			*c = '_';
}

bool settings__matches_globs(const char *globs, const char *name)
{
	const char *p = globs;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char raw[256], glob[256];
		snprintf(raw, sizeof(raw), "%.*s", (int)n, p);
		trimmed(raw, glob, sizeof(glob));
		if (*glob && fnmatch(glob, name, 0) == 0)
			return true;
		p += n + (comma != NULL);
	}
	return false;
}

/* name is the variable as the environment spells it: messages quote it that way */
static void apply(fs_settings *s, const fs_setting_info *f, const char *name, const char *raw)
{
	char v[PATH_MAX];
	trimmed(raw, v, sizeof(v));
	void *dst = (char *)s + f->offset;
	long n;
	bool b;
	char bad[64];

	switch (f->kind) {
	case FS_SETTING_BOOL:
		if (parse_bool(v, &b) < 0)
			say(s, "%s='%s' is not a boolean (use 1/0, true/false, yes/no, on/off); "
			       "using %s", name, raw, *(bool *)dst ? "true" : "false");
		else
			*(bool *)dst = b;
		break;
	case FS_SETTING_RATE:
		if (parse_long(v, 1, 10000, &n) < 0)
			say(s, "%s='%s' is not a rate from 1 to 10000 Hz; using %d Hz",
			    name, raw, *(int *)dst);
		else
			*(int *)dst = (int)n;
		break;
	case FS_SETTING_KIB:
		if (parse_long(v, 4, 64, &n) < 0)
			say(s, "%s='%s' is not a size from 4 to 64 KiB; using %d KiB",
			    name, raw, *(int *)dst);
		else
			*(int *)dst = (int)n;
		break;
	case FS_SETTING_FORMATS:
		if (parse_formats(v, dst, bad, sizeof(bad)) < 0) {
			char known[128];
			say(s, "%s='%s': unknown format '%s' (known: %s); writing svg", name, raw, bad,
			    formats__names(known, sizeof(known), ", ", false));
		}
		break;
	case FS_SETTING_MODE:
		if (!strcasecmp(v, "record"))
			s->mode = FS_MODE_RECORD;
		else if (!strcasecmp(v, "top"))
			s->mode = FS_MODE_TOP;
		else
			say(s, "%s='%s' is neither record nor top; recording", name, raw);
		break;
	case FS_SETTING_PID:
		if (!*v)
			break;
		if (parse_long(v, 1, 4194304, &n) < 0)
			say(s, "%s='%s' is not a process id; ignored", name, raw);
		else
			s->pid = n;
		break;
	case FS_SETTING_GLOBS:
	case FS_SETTING_PATH:
		if (strlen(v) >= f->size)
			say(s, "%s is longer than %zu characters; ignored", name, f->size - 1);
		else if (*v || f->kind == FS_SETTING_GLOBS)
			strcpy(dst, v);
		break;
	case FS_SETTING_BACKEND: {
		int choice = backends__parse(v);
		if (choice < 0)
			say(s, "%s='%s' is not a backend (%s); using auto", name, raw,
			    backends__names());
		else
			s->backend = (enum fs_backend_choice)choice;
		break;
	}
	case FS_SETTING_DURATION: {
		char *end;
		errno = 0;
		double d = strtod(v, &end);
		if (!*v || *end || errno || !(d > 0) || d > 1e9)
			say(s, "%s='%s' is not a positive number of seconds; sampling until the end",
			    name, raw);
		else
			s->duration_s = d;
		break;
	}
	case FS_SETTING_LABEL: {
		char label[FS_LABEL_MAX];
		size_t len = strnlen(v, sizeof(label) - 1);
		memcpy(label, v, len); /* cut on purpose: a file-name stem, not a path */
		label[len] = 0;
		settings__sanitize_label(label);
		if (strlen(v) >= sizeof(label))
			say(s, "%s is longer than %zu characters; cut to '%s'", name,
			    sizeof(label) - 1, label);
		else if (strcmp(label, v))
			say(s, "%s='%s' may only hold letters, digits, '.', '_' and '-'; using '%s'",
			    name, raw, label);
		if (!strcmp(label, ".") || !strcmp(label, ".."))
			label[0] = '_';
		strcpy(s->label, label);
		break;
	}
	}
}

/* Case-insensitive "NAME=" prefix match; returns the value or NULL. */
static const char *value_of(const char *entry, const char *name)
{
	size_t n = strlen(name);
	if (strncasecmp(entry, name, n) || entry[n] != '=')
		return NULL;
	return entry + n + 1;
}

void settings__parse(fs_settings *s, char *const *envp)
{
	memset(s, 0, sizeof(*s));
	s->rate_hz = 100;
	s->native_stack_kib = 16;
	s->formats = FS_FORMAT_SVG;
	strcpy(s->process, "*");
	strcpy(s->output_dir, "outputs/perf");
	if (!envp)
		return;
	for (char *const *e = envp; *e; e++) {
		if (strncasecmp(*e, "FIL_PERF_", 9))
			continue;
		bool known = false;
		for (const fs_setting_info *f = settings__table; f->env && !known; f++) {
			const char *v = value_of(*e, f->env);
			if (!v && f->alias)
				v = value_of(*e, f->alias);
			if (v) {
				char name[64];
				snprintf(name, sizeof(name), "%.*s", (int)(v - *e - 1), *e);
				apply(s, f, name, v);
				known = true;
			}
		}
		/* FIL_PERF_ is shared with Filare's own settings; only our prefix is ours */
		if (!known && !strncasecmp(*e, "FIL_PERF_SPY_", 13)) {
			const char *eq = strchr(*e, '=');
			say(s, "unknown setting %.*s; ignored", eq ? (int)(eq - *e) : 64, *e);
		}
	}
}
