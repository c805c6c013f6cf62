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

enum kind { K_BOOL, K_RATE, K_FORMATS, K_MODE, K_PID, K_GLOBS, K_BACKEND, K_PATH, K_DURATION, K_LABEL };

struct field {
	const char *env;
	enum kind kind;
	size_t offset;
	size_t size;
};

#define FIELD(env, kind, member) { env, kind, offsetof(fs_settings, member), sizeof(((fs_settings *)0)->member) }

/* FIL_PERF_ENABLE_PYSPY is Filare's PerformanceSettings.enable_pyspy: an alias. */
static const struct field fields[] = {
	FIELD("FIL_PERF_SPY_ENABLED", K_BOOL, enabled),
	FIELD("FIL_PERF_ENABLE_PYSPY", K_BOOL, enabled),
	FIELD("FIL_PERF_SPY_RATE", K_RATE, rate_hz),
	FIELD("FIL_PERF_SPY_OUTPUT", K_FORMATS, formats),
	FIELD("FIL_PERF_SPY_MODE", K_MODE, mode),
	FIELD("FIL_PERF_SPY_PID", K_PID, pid),
	FIELD("FIL_PERF_SPY_NATIVE", K_BOOL, native),
	FIELD("FIL_PERF_SPY_GIL", K_BOOL, gil),
	FIELD("FIL_PERF_SPY_IDLE", K_BOOL, idle),
	FIELD("FIL_PERF_SPY_THREADS", K_BOOL, threads),
	FIELD("FIL_PERF_SPY_BLOCKLIST", K_GLOBS, blocklist),
	FIELD("FIL_PERF_SPY_BACKEND", K_BACKEND, backend),
	FIELD("FIL_PERF_SPY_PYSPY", K_PATH, pyspy),
	FIELD("FIL_PERF_SPY_SUBPROCESSES", K_BOOL, subprocesses),
	FIELD("FIL_PERF_SPY_DURATION", K_DURATION, duration_s),
	FIELD("FIL_PERF_SPY_PROCESS", K_GLOBS, process),
	FIELD("FIL_PERF_SPY_QUIET", K_BOOL, quiet),
	FIELD("FIL_PERF_SPY_DEBUG", K_BOOL, debug),
	FIELD("FIL_PERF_OUTPUT_DIR", K_PATH, output_dir),
	FIELD("FIL_PERF_RUN_LABEL", K_LABEL, label),
};

const fs_setting_info settings__table[] = {
	{ "FIL_PERF_SPY_ENABLED", "enabled", NULL, "master switch (set by `filspy run`)" },
	{ "FIL_PERF_SPY_RATE", "rate", "HZ", "samples per second per thread, 1..10000 (100)" },
	{ "FIL_PERF_SPY_OUTPUT", "output", "LIST", "formats: svg,raw,speedscope,pprof,gil (svg)" },
	{ "FIL_PERF_SPY_MODE", "mode", "MODE", "record or top (record)" },
	{ "FIL_PERF_SPY_PID", "pid", "PID", "attach to this process instead of running a command" },
	{ "FIL_PERF_SPY_NATIVE", "native", NULL, "include native (C) frames" },
	{ "FIL_PERF_SPY_GIL", "gil", NULL, "keep only samples of threads holding the GIL" },
	{ "FIL_PERF_SPY_IDLE", "idle", NULL, "keep samples of idle threads too" },
	{ "FIL_PERF_SPY_THREADS", "threads", NULL, "add a root frame per thread" },
	{ "FIL_PERF_SPY_BLOCKLIST", "blocklist", "GLOBS", "thread names never sampled" },
	{ "FIL_PERF_SPY_BACKEND", "backend", "NAME", "auto, bpf, pyspy or self (auto)" },
	{ "FIL_PERF_SPY_PYSPY", "pyspy", "PATH", "the py-spy binary (py-spy on PATH)" },
	{ "FIL_PERF_SPY_SUBPROCESSES", "subprocesses", NULL, "profile forked Python children too" },
	{ "FIL_PERF_SPY_DURATION", "duration", "SECONDS", "stop sampling after this long" },
	{ "FIL_PERF_SPY_PROCESS", "process", "GLOBS", "program names that profile themselves (*)" },
	{ "FIL_PERF_SPY_QUIET", "quiet", NULL, "no informational messages" },
	{ "FIL_PERF_SPY_DEBUG", "debug", NULL, "debug messages on stderr" },
	{ "FIL_PERF_OUTPUT_DIR", "output-dir", "DIR", "where files go (outputs/perf)" },
	{ "FIL_PERF_RUN_LABEL", "label", "LABEL", "file-name stem (<program>-<pid>)" },
	{ NULL, NULL, NULL, NULL },
};

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
	static const struct { const char *name; unsigned bit; } names[] = {
		{ "svg", FS_FORMAT_SVG }, { "raw", FS_FORMAT_RAW },
		{ "speedscope", FS_FORMAT_SPEEDSCOPE }, { "pprof", FS_FORMAT_PPROF },
		{ "gil", FS_FORMAT_GIL },
		{ "flamegraph", FS_FORMAT_SVG }, /* py-spy's name for svg */
	};
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
			size_t i;
			for (i = 0; i < sizeof(names) / sizeof(*names); i++)
				if (!strcasecmp(word, names[i].name))
					break;
			if (i == sizeof(names) / sizeof(*names)) {
				snprintf(bad, bad_size, "%s", word);
				return -1;
			}
			bits |= names[i].bit;
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
static void apply(fs_settings *s, const struct field *f, const char *name, const char *raw)
{
	char v[PATH_MAX];
	trimmed(raw, v, sizeof(v));
	void *dst = (char *)s + f->offset;
	long n;
	bool b;
	char bad[64];

	switch (f->kind) {
	case K_BOOL:
		if (parse_bool(v, &b) < 0)
			say(s, "%s='%s' is not a boolean (use 1/0, true/false, yes/no, on/off); "
			       "using %s", name, raw, *(bool *)dst ? "true" : "false");
		else
			*(bool *)dst = b;
		break;
	case K_RATE:
		if (parse_long(v, 1, 10000, &n) < 0)
			say(s, "%s='%s' is not a rate from 1 to 10000 Hz; using %d Hz",
			    name, raw, *(int *)dst);
		else
			*(int *)dst = (int)n;
		break;
	case K_FORMATS:
		if (parse_formats(v, dst, bad, sizeof(bad)) < 0)
			say(s, "%s='%s': unknown format '%s' (known: svg, raw, speedscope, pprof, gil); "
			       "writing svg", name, raw, bad);
		break;
	case K_MODE:
		if (!strcasecmp(v, "record"))
			s->mode = FS_MODE_RECORD;
		else if (!strcasecmp(v, "top"))
			s->mode = FS_MODE_TOP;
		else
			say(s, "%s='%s' is neither record nor top; recording", name, raw);
		break;
	case K_PID:
		if (!*v)
			break;
		if (parse_long(v, 1, 4194304, &n) < 0)
			say(s, "%s='%s' is not a process id; ignored", name, raw);
		else
			s->pid = n;
		break;
	case K_GLOBS:
	case K_PATH:
		if (strlen(v) >= f->size)
			say(s, "%s is longer than %zu characters; ignored", name, f->size - 1);
		else if (*v || f->kind == K_GLOBS)
			strcpy(dst, v);
		break;
	case K_BACKEND: {
		static const char *const names[] = { "auto", "bpf", "pyspy", "self" };
		size_t i;
		for (i = 0; i < 4; i++)
			if (!strcasecmp(v, names[i]))
				break;
		if (i == 4)
			say(s, "%s='%s' is not a backend (auto, bpf, pyspy, self); using auto",
			    name, raw);
		else
			s->backend = (enum fs_backend_choice)i;
		break;
	}
	case K_DURATION: {
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
	case K_LABEL: {
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
	s->formats = FS_FORMAT_SVG;
	strcpy(s->process, "*");
	strcpy(s->output_dir, "outputs/perf");
	if (!envp)
		return;
	for (char *const *e = envp; *e; e++) {
		if (strncasecmp(*e, "FIL_PERF_", 9))
			continue;
		bool known = false;
		for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
			const char *v = value_of(*e, fields[i].env);
			if (v) {
				char name[64];
				snprintf(name, sizeof(name), "%.*s", (int)(v - *e - 1), *e);
				apply(s, &fields[i], name, v);
				known = true;
				break;
			}
		}
		/* FIL_PERF_ is shared with Filare's own settings; only our prefix is ours */
		if (!known && !strncasecmp(*e, "FIL_PERF_SPY_", 13)) {
			const char *eq = strchr(*e, '=');
			say(s, "unknown setting %.*s; ignored", eq ? (int)(eq - *e) : 64, *e);
		}
	}
}
