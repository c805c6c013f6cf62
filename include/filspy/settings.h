/* The FIL_PERF_SPY_* / FIL_PERF_* settings: one table, parsed from an environment. */
#ifndef FILSPY_SETTINGS_H
#define FILSPY_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "filspy/backends.h"
#include "filspy/writers.h"  /* enum fs_format: the bits of fs_settings.formats */

enum fs_mode { FS_MODE_RECORD, FS_MODE_TOP };

#define FS_MAX_MESSAGES 16
#define FS_MESSAGE_LEN 320
#define FS_LABEL_MAX 128
#define FS_GLOBS_MAX 512

typedef struct fs_settings {
	bool enabled;
	int rate_hz;
	unsigned formats;            /* enum fs_format bits */
	char file[PATH_MAX];         /* FIL_PERF_SPY_FILE: the first format's exact path, "" for none */
	enum fs_mode mode;
	long pid;                    /* 0 when unset */
	bool native, gil, idle, threads;
	int native_stack_kib;        /* KiB of user stack copied per native sample */
	bool function;               /* frames by function: the function's first line */
	bool nolineno;               /* frames without line numbers */
	bool raw_imports;            /* keep CPython's import machinery frames as they are */
	bool full_filenames;         /* whole file paths, not shortened to the package part */
	bool subprocesses, quiet, debug;
	char blocklist[FS_GLOBS_MAX];/* comma-separated globs, "" for none */
	enum fs_backend_choice backend;
	char pyspy[PATH_MAX];        /* "" means py-spy on PATH */
	double duration_s;           /* 0 means unlimited */
	char process[FS_GLOBS_MAX];  /* comma-separated program-name globs */
	char output_dir[PATH_MAX];
	char label[FS_LABEL_MAX];    /* sanitised; "" means the default <program>-<pid> */

	/* What parsing had to say, one line each, without the "filspy: " prefix.
	 * The agent prints them only in processes it profiles. */
	int n_messages;
	char messages[FS_MAX_MESSAGES][FS_MESSAGE_LEN];
} fs_settings;

/* Fills s with the defaults, then with every recognised variable of envp (names
 * compared case-insensitively, as pydantic-settings does). Never fails: a bad value
 * keeps the default and adds a message naming the variable, the value and what was
 * done instead. Allocates nothing. */
void settings__parse(fs_settings *s, char *const *envp);

/* Replaces every character outside [A-Za-z0-9._-] of label in place with '_'. */
void settings__sanitize_label(char *label);

/* True when name matches one of the comma-separated globs (fnmatch). */
bool settings__matches_globs(const char *globs, const char *name);

/* How a setting's value is read (core/settings.c's apply() says what each accepts). */
enum fs_setting_kind {
	FS_SETTING_BOOL, FS_SETTING_RATE, FS_SETTING_FORMATS, FS_SETTING_MODE, FS_SETTING_PID,
	FS_SETTING_GLOBS, FS_SETTING_BACKEND, FS_SETTING_PATH, FS_SETTING_DURATION, FS_SETTING_LABEL,
	FS_SETTING_KIB,
};

/* One setting, described once: the variables that set it, the option of `filspy run`
 * that sets the variable, its --help line, and where parsing puts its value. */
typedef struct fs_setting_info {
	const char *env;     /* canonical upper-case variable name */
	const char *alias;   /* another variable read the same way, NULL for none */
	const char *option;  /* long option of `filspy run`, without "--" */
	const char *arg;     /* argument name, NULL for a boolean flag */
	const char *help;    /* read it through settings__help() */
	enum fs_setting_kind kind;
	size_t offset;       /* of the member of fs_settings it fills */
	size_t size;         /* of that member */
} fs_setting_info;

/* The table of settings, terminated by an entry whose env is NULL. */
extern const fs_setting_info settings__table[];

/* The --help line of s: its help text, with the output formats' names filled in
 * from the format table for FIL_PERF_SPY_OUTPUT (then written into buf, whose size
 * is size). Returns the text, valid while s and buf are. */
const char *settings__help(const fs_setting_info *s, char *buf, size_t size);

#endif
