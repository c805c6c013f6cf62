/* The one table of the filspy command's commands and their options: what `filspy
 * --help`, each `filspy CMD --help`, the option parser, the did-you-mean hints and
 * the shell completions read. The settings' own --options come from the settings
 * table (core/settings.c); py-spy's spellings are rows here. */
#include <stdio.h>
#include <string.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "commands.h"
#include "suggest.h"

#define HELP { "help", 'h', NULL, CLI_FLAG, NULL, NULL, "print this help and exit" }
#define END { NULL, 0, NULL, CLI_FLAG, NULL, NULL, NULL }

/* run, record and attach: py-spy record's options first (same letters), mapped
 * to settings; the rest of the settings table follows them in --help */
static const cli_option profile_options[] = {
	{ "output", 'o', "FILE", CLI_TEXT, NULL, "FIL_PERF_SPY_FILE",
	  "the profile's file; format from its extension (.svg .txt .folded .json .pb .pb.gz) "
	  "unless -f. --output svg,raw (format names) is FIL_PERF_SPY_OUTPUT" },
	{ "format", 'f', "FORMAT", CLI_SETTING, NULL, "FIL_PERF_SPY_OUTPUT",
	  "svg (py-spy's flamegraph), raw, speedscope, pprof, gil; a comma list for several" },
	{ "rate", 'r', "HZ", CLI_SETTING, NULL, "FIL_PERF_SPY_RATE", NULL },
	{ "duration", 'd', "SECONDS", CLI_SETTING, NULL, "FIL_PERF_SPY_DURATION", NULL },
	{ "pid", 'p', "PID", CLI_SETTING, NULL, "FIL_PERF_SPY_PID", NULL },
	{ "subprocesses", 's', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_SUBPROCESSES", NULL },
	{ "function", 'F', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_FUNCTION",
	  "aggregate by function, not by line" },
	{ "nolineno", 0, NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_NOLINENO",
	  "do not show line numbers" },
	{ "threads", 't', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_THREADS", NULL },
	{ "gil", 'g', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_GIL", NULL },
	{ "idle", 'i', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_IDLE", NULL },
	{ "native", 'n', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_NATIVE", NULL },
	{ "native-stack", 0, "KIB", CLI_SETTING, NULL, "FIL_PERF_SPY_NATIVE_STACK", NULL },
	{ "quiet", 'q', NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_QUIET", NULL },
	{ "full-filenames", 0, NULL, CLI_SETTING, NULL, "FIL_PERF_SPY_FULL_FILENAMES",
	  "whole file paths in frame names, not from the package on" },
	{ "nonblocking", 0, NULL, CLI_FLAG, NULL, NULL,
	  "py-spy's; accepted and changes nothing: filspy never pauses the program" },
	HELP,
	END,
};

#define PID_OPTION { "pid", 'p', "PID", CLI_PID, NULL, NULL, "the process (or give PID alone)" }

static const cli_option dump_options[] = {
	PID_OPTION,
	{ "json", 'j', NULL, CLI_FLAG, NULL, NULL,
	  "the threads as JSON, in py-spy dump --json's shape (plus each thread's state)" },
	{ "locals", 'l', NULL, CLI_FLAG, NULL, NULL,
	  "each frame's arguments and locals (repr of None, bool, int, float, str, bytes)" },
	{ "native", 'n', NULL, CLI_FLAG, NULL, NULL,
	  "native frames too, from py-spy dump --native (it stops the process for the dump)" },
	{ "subprocesses", 's', NULL, CLI_FLAG, NULL, NULL,
	  "every Python process of PID's tree, once each, each under its header" },
	HELP,
	END,
};

static const cli_option top_options[] = {
	PID_OPTION,
	{ "iterations", 0, "N", CLI_INT, NULL, NULL, "refresh N times, then exit (forever)" },
	{ "sort", 0, "KEY", CLI_CHOICE, "own|total", NULL, "order of the rows (own)" },
	{ "delay", 0, "SECONDS", CLI_SECONDS, NULL, NULL, "between refreshes (1)" },
	HELP,
	END,
};

static const cli_option report_options[] = {
	{ "format", 'f', "FORMAT", CLI_FORMAT, NULL, NULL,
	  "svg, raw, speedscope or pprof (convert: from OUT's extension)" },
	{ "output", 'o', "OUT", CLI_TEXT, NULL, NULL, "the file to write, - for stdout" },
	{ "title", 0, "TITLE", CLI_TEXT, NULL, NULL, "the flamegraph's title (IN)" },
	{ "rate", 0, "HZ", CLI_INT, NULL, NULL, "the rate the samples were taken at (100)" },
	HELP,
	END,
};

static const cli_option diff_options[] = {
	{ "output", 'o', "DIFF.svg", CLI_TEXT, NULL, NULL, "the differential flamegraph" },
	{ "top", 0, "N", CLI_INT, NULL, NULL, "rows in the printed table (10)" },
	{ "by", 0, "KEY", CLI_CHOICE, "function|line", NULL,
	  "match frames by function (default) or by function and line" },
	HELP,
	END,
};

static const cli_option doctor_options[] = {
	{ "json", 0, NULL, CLI_FLAG, NULL, NULL, "the findings as JSON" },
	HELP,
	END,
};

static const cli_option help_only[] = { HELP, END };

#define RUN_NOTES                                                                         \
	"-o FILE: the run's first Python process writes FILE; the processes it starts\n"     \
	"write <label>-<pid> files beside it (or in --output-dir). filspy waits for\n"      \
	"COMMAND and exits as it did; it says so when no profile was written.\n"

#define REPORT_NOTES                                                                      \
	"IN: a raw profile (folded stacks, ours or py-spy's), - for stdin. OUT: the file to\n" \
	"write, - for stdout; without -f its extension names the format (.svg, .txt or\n"      \
	".folded, .json, .pb or .pb.gz).\n"

const cli_command commands__table[] = {
	{ "run", "[OPTIONS] [--] COMMAND [ARGS...]",
	  "profile COMMAND and every Python process it starts", profile_options, true, "command",
	  RUN_NOTES },
	{ "record", "[OPTIONS] (--pid PID | [--] COMMAND [ARGS...])",
	  "py-spy's spelling: run COMMAND, or attach to PID", profile_options, true, "command",
	  RUN_NOTES },
	{ "attach", "[OPTIONS] PID", "profile a running process until --duration or Ctrl-C",
	  profile_options, true, "pid", NULL },
	{ "dump", "[--pid] PID [--locals] [--json] [--native] [--subprocesses]",
	  "print each thread's current stack, its Python name and GIL/idle state", dump_options,
	  false, "pid", NULL },
	{ "top", "[--pid] PID [--iterations N] [--sort own|total] [--delay SECONDS]",
	  "a live table of the functions sampled most", top_options, false, "pid", NULL },
	{ "report", "IN [-f FORMAT] -o OUT",
	  "convert a raw profile (folded stacks, ours or py-spy's) to another format",
	  report_options, false, "file", REPORT_NOTES },
	{ "convert", "IN -o OUT [-f FORMAT]",
	  "report, the format taken from OUT's extension", report_options, false, "file",
	  REPORT_NOTES },
	{ "diff", "BEFORE AFTER -o DIFF.svg [--by function|line] [--top N]",
	  "a differential flamegraph of two raw profiles", diff_options, false, "file",
	  "BEFORE, AFTER: raw profiles (folded stacks, ours or py-spy's). Frames match by\n"
	  "function (--by line: by function and line, so code that moved does not match);\n"
	  "widths come from AFTER; red: a larger own share (as the leaf) of the samples than\n"
	  "in BEFORE, blue: a smaller one. The table lists the functions whose own or total\n"
	  "share changed most, either way.\n" },
	{ "doctor", "[--json]", "what this machine lets filspy do, and how to fix the rest",
	  doctor_options, false, "", NULL },
	{ "completions", "bash|zsh|fish", "print a shell completion script",
	  help_only, false, "shell", NULL },
	{ "version", "", "print filspy's version", help_only, false, "", NULL },
	{ "help", "[COMMAND]", "print a command's help", help_only, false, "command-name", NULL },
	{ NULL, NULL, NULL, NULL, false, NULL, NULL },
};

const cli_command *commands__named(const char *name)
{
	const char *best = NULL;
	int best_d = 1 << 20;
	for (const cli_command *c = commands__table; c->name; c++) {
		if (!strcmp(c->name, name))
			return c;
		suggest__consider(name, c->name, &best, &best_d);
	}
	if (best)
		fs_error("unknown command '%s'; did you mean '%s'? (see filspy --help)", name, best);
	else
		fs_error("unknown command '%s' (see filspy --help)", name);
	return NULL;
}

static bool shadowed(const cli_command *c, const char *option)
{
	for (const cli_option *o = c->options; o->name; o++)
		if (!strcmp(o->name, option))
			return true;
	/* the master switch is what `filspy run` sets itself */
	return !strcmp(option, "enabled");
}

const struct fs_setting_info *commands__next_setting(const cli_command *c,
						     const struct fs_setting_info *i)
{
	if (!c->settings)
		return NULL;
	for (i = i ? i + 1 : settings__table; i->env; i++)
		if (!shadowed(c, i->option))
			return i;
	return NULL;
}

static const fs_setting_info *setting_of(const char *env)
{
	for (const fs_setting_info *s = settings__table; env && s->env; s++)
		if (!strcmp(s->env, env))
			return s;
	return NULL;
}

static void option_line(FILE *f, char short_name, const char *name, const char *arg,
			const char *env, const char *help)
{
	char left[64];
	snprintf(left, sizeof(left), "%c%c%s--%s%s%s", short_name ? '-' : ' ',
		 short_name ? short_name : ' ', short_name ? ", " : "  ", name, arg ? " " : "",
		 arg ? arg : "");
	if (env)
		fprintf(f, "  %-28s %-26s %s\n", left, env, help ? help : "");
	else
		fprintf(f, "  %-28s %s\n", left, help ? help : "");
}

void commands__usage(const cli_command *c, FILE *f)
{
	fprintf(f, "usage: filspy %s%s%s\n\n%s.\n", c->name, *c->args ? " " : "", c->args,
		c->summary);
	if (c->settings)
		fprintf(f, "Each option sets the environment variable shown; the variables alone do "
			   "the same\nwithout filspy: LD_PRELOAD=libfilspy.so FIL_PERF_SPY_ENABLED=1 "
			   "COMMAND\n");
	fprintf(f, "\noptions:\n");
	for (const cli_option *o = c->options; o->name; o++) {
		const fs_setting_info *s = setting_of(o->env);
		char buf[200];
		const char *help = o->help ? o->help : s ? settings__help(s, buf, sizeof(buf)) : "";
		option_line(f, o->short_name, o->name, o->arg, c->settings ? (o->env ? o->env : "")
			    : NULL, help);
	}
	for (const fs_setting_info *s = commands__next_setting(c, NULL); s;
	     s = commands__next_setting(c, s)) {
		char buf[200];
		option_line(f, 0, s->option, s->arg, s->env, settings__help(s, buf, sizeof(buf)));
	}
	if (c->notes)
		fprintf(f, "\n%s", c->notes);
}
