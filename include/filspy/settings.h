/* The FIL_PERF_SPY_* / FIL_PERF_* settings: one table, parsed from an environment. */
#ifndef FILSPY_SETTINGS_H
#define FILSPY_SETTINGS_H

#include <limits.h>
#include <stdbool.h>

enum fs_format {
	FS_FORMAT_SVG = 1 << 0,
	FS_FORMAT_RAW = 1 << 1,
	FS_FORMAT_SPEEDSCOPE = 1 << 2,
	FS_FORMAT_PPROF = 1 << 3,
	FS_FORMAT_GIL = 1 << 4,        /* the GIL view: <label>-pyspy-gil.svg */
};

enum fs_backend_choice { FS_BACKEND_AUTO, FS_BACKEND_BPF, FS_BACKEND_PYSPY, FS_BACKEND_SELF };
enum fs_mode { FS_MODE_RECORD, FS_MODE_TOP };

#define FS_MAX_MESSAGES 16
#define FS_MESSAGE_LEN 320
#define FS_LABEL_MAX 128
#define FS_GLOBS_MAX 512

typedef struct fs_settings {
	bool enabled;
	int rate_hz;
	unsigned formats;            /* enum fs_format bits */
	enum fs_mode mode;
	long pid;                    /* 0 when unset */
	bool native, gil, idle, threads, subprocesses, quiet, debug;
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

/* Describes one setting, for the filspy command's options and --help. */
typedef struct fs_setting_info {
	const char *env;     /* canonical upper-case variable name */
	const char *option;  /* long option of `filspy run`, without "--" */
	const char *arg;     /* argument name, NULL for a boolean flag */
	const char *help;
} fs_setting_info;

/* The table of settings, terminated by an entry whose env is NULL. */
extern const fs_setting_info settings__table[];

#endif
