/* Reading a command's options from argv (loader/options.c), from the tables of
 * loader/commands.h. */
#ifndef FILSPY_OPTIONS_H
#define FILSPY_OPTIONS_H

#include <stdbool.h>

#include "commands.h"
#include "filspy/writers.h"

/* For commands without settings: checks argv[1..] against c's options before
 * anything runs (names, values present and well-formed; "--" ends the options).
 * Returns 0 to go on, 1 after printing the usage for -h/--help, -1 after one
 * `filspy:` line on stderr. */
int options__check(const cli_command *c, int argc, char **argv);

/* What the settings commands' options asked besides settings. */
typedef struct cli_profile_args {
	const char *file;     /* -o FILE, or NULL */
	const char *format;   /* -f FORMAT, or NULL */
	bool help;            /* -h/--help: the usage was printed */
} cli_profile_args;

/* For run, record and attach: reads the options from argv[i] on, sets the
 * environment variable of each (values checked first), and stops at the first
 * operand (or after "--"). -o FILE sets FIL_PERF_SPY_FILE (made absolute) and,
 * without -f, FIL_PERF_SPY_OUTPUT from FILE's extension. Returns the index of the
 * first operand (argc if none), or -1 after one `filspy:` line on stderr. */
int options__apply_profile(const cli_command *c, int argc, char **argv, int i,
			   cli_profile_args *out);

/* The format a file name asks for by its extension (.svg, .txt/.folded,
 * .json, .pb/.pb.gz/.pprof), or NULL. */
const fs_format_info *options__format_of_file(const char *path);

#endif
