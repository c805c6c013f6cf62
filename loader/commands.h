/* The filspy command's commands and options, described once (loader/commands.c):
 * parsing (loader/options.c), --help, suggestions and the shell completions
 * (loader/completions.c) all read these tables. */
#ifndef FILSPY_COMMANDS_H
#define FILSPY_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

struct fs_setting_info;

/* What an option's value must be; checked before anything runs. */
enum cli_kind {
	CLI_FLAG,     /* no value */
	CLI_INT,      /* a whole number >= 1 */
	CLI_SECONDS,  /* a number > 0 */
	CLI_CHOICE,   /* one of cli_option.choices */
	CLI_FORMAT,   /* an output format with a writer, or for --format a list */
	CLI_PID,      /* a process id */
	CLI_TEXT,     /* anything, a file name too */
	CLI_SETTING,  /* what the setting env accepts (core/settings.c) */
};

typedef struct cli_option {
	const char *name;     /* long name, without "--" */
	char short_name;      /* 0 for none */
	const char *arg;      /* the value's name in help, NULL for a flag */
	enum cli_kind kind;
	const char *choices;  /* CLI_CHOICE: "own|total" */
	const char *env;      /* the setting it sets (run, record, attach), NULL if none */
	const char *help;
} cli_option;

typedef struct cli_command {
	const char *name;
	const char *args;      /* what follows "filspy NAME" in the usage line */
	const char *summary;   /* one line */
	const cli_option *options; /* ends with a row whose name is NULL */
	bool settings;         /* takes every setting's --option too (run, record, attach) */
	const char *operand;   /* for completions: "command", "pid", "file", "shell" or "" */
	const char *notes;     /* lines --help prints after the options, NULL for none */
} cli_command;

/* Every command, in --help's order; ends with a row whose name is NULL. */
extern const cli_command commands__table[];

/* The command called name, or NULL after printing one `filspy:` line that says so
 * and suggests the nearest command. */
const cli_command *commands__named(const char *name);

/* "filspy NAME --help": its usage line, summary and options. */
void commands__usage(const cli_command *c, FILE *f);

/* The setting rows a settings command takes besides its own options (those whose
 * --option none of c's options shadows); i is the previous row, NULL to start.
 * Returns NULL at the end. */
const struct fs_setting_info *commands__next_setting(const cli_command *c,
						     const struct fs_setting_info *i);

#endif
