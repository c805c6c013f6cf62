/* Shell completion scripts generated from the command table (loader/commands.c)
 * and the settings table, so they never drift from what the parser takes. */
#include <stdio.h>
#include <string.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "filspy/writers.h"
#include "commands.h"
#include "completions.h"

/* One option as the scripts see it, whichever table it came from. */
struct opt {
	const char *name, *arg, *help;
	char short_name;
	char values[160]; /* space-separated values to offer, "" for any */
};

typedef void (*opt_fn)(const cli_command *c, const struct opt *o, void *ctx);

static void each_option(const cli_command *c, opt_fn fn, void *ctx)
{
	char buf[200];
	for (const cli_option *o = c->options; o->name; o++) {
		struct opt v = { o->name, o->arg, o->help, o->short_name, "" };
		if (o->kind == CLI_CHOICE)
			for (size_t i = 0; i < strlen(o->choices) && i < sizeof(v.values) - 1; i++)
				v.values[i] = o->choices[i] == '|' ? ' ' : o->choices[i];
		if (o->kind == CLI_FORMAT || (o->env && !strcmp(o->env, "FIL_PERF_SPY_OUTPUT")))
			formats__names(v.values, sizeof(v.values), " ", o->kind == CLI_FORMAT);
		if (!v.help) {
			const fs_setting_info *s = settings__table;
			while (s->env && strcmp(s->env, o->env))
				s++;
			v.help = s->env ? settings__help(s, buf, sizeof(buf)) : "";
		}
		fn(c, &v, ctx);
	}
	for (const fs_setting_info *s = commands__next_setting(c, NULL); s;
	     s = commands__next_setting(c, s)) {
		struct opt v = { s->option, s->arg, settings__help(s, buf, sizeof(buf)), 0, "" };
		if (s->kind == FS_SETTING_BACKEND)
			snprintf(v.values, sizeof(v.values), "auto bpf pyspy self");
		if (s->kind == FS_SETTING_MODE)
			snprintf(v.values, sizeof(v.values), "record top");
		fn(c, &v, ctx);
	}
}

/* help text safe inside single quotes and zsh's [...] */
static const char *plain(const char *help, char *out, size_t size)
{
	size_t n = 0;
	for (const char *p = help; *p && n + 1 < size && n < 70; p++)
		out[n++] = strchr("'[]:\\`$\"", *p) ? ' ' : *p;
	out[n] = 0;
	return out;
}

static void bash_names(const cli_command *c, const struct opt *o, void *ctx)
{
	printf(" --%s", o->name);
	if (o->short_name)
		printf(" -%c", o->short_name);
}

static void bash_values(const cli_command *c, const struct opt *o, void *ctx)
{
	if (!o->values[0])
		return;
	printf("        %s:--%s", c->name, o->name);
	if (o->short_name)
		printf("|%s:-%c", c->name, o->short_name);
	printf(") COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return;;\n", o->values);
}

static void bash(void)
{
	printf("# filspy completion for bash: eval \"$(filspy completions bash)\"\n"
	       "_filspy() {\n  local cur=\"${COMP_WORDS[COMP_CWORD]}\" "
	       "prev=\"${COMP_WORDS[COMP_CWORD-1]}\" cmd=\"${COMP_WORDS[1]}\" opts=\n"
	       "  local alias=; [ \"${COMP_WORDS[0]##*/}\" = perf-pyspy ] && cmd=run alias=1\n"
	       "  if [ \"$COMP_CWORD\" -eq 1 ] && [ -z \"$alias\" ]; then\n"
	       "    COMPREPLY=($(compgen -W '");
	for (const cli_command *c = commands__table; c->name; c++)
		printf("%s%s", c == commands__table ? "" : " ", c->name);
	printf("' -- \"$cur\")); return\n  fi\n  case \"$cmd:$prev\" in\n");
	for (const cli_command *c = commands__table; c->name; c++)
		each_option(c, bash_values, NULL);
	printf("  esac\n  case \"$cmd\" in\n");
	for (const cli_command *c = commands__table; c->name; c++) {
		printf("    %s) opts='", c->name);
		each_option(c, bash_names, NULL);
		printf(" ';;\n");
	}
	printf("  esac\n  if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))"
	       "; return; fi\n  case \"$cmd\" in\n");
	for (const cli_command *c = commands__table; c->name; c++) {
		const char *what = !strcmp(c->operand, "command") ? "compgen -c -- \"$cur\""
				 : !strcmp(c->operand, "pid") ? "compgen -W \"$(ps -eo pid=)\" -- \"$cur\""
				 : !strcmp(c->operand, "file") ? "compgen -f -- \"$cur\""
				 : !strcmp(c->operand, "shell") ? "compgen -W 'bash zsh fish' -- \"$cur\""
				 : !strcmp(c->operand, "command-name") ? "compgen -W \"$(filspy completions names)\" -- \"$cur\""
				 : NULL;
		if (what)
			printf("    %s) COMPREPLY=($(%s));;\n", c->name, what);
	}
	printf("  esac\n}\ncomplete -F _filspy -o default filspy perf-pyspy\n");
}

static void zsh_option(const cli_command *c, const struct opt *o, void *ctx)
{
	char help[80];
	plain(o->help ? o->help : "", help, sizeof(help));
	if (o->short_name)
		printf(" \\\n      '(-%c --%s)'{-%c,--%s}'[%s]", o->short_name, o->name, o->short_name,
		       o->name, help);
	else
		printf(" \\\n      '--%s[%s]", o->name, help);
	if (o->arg)
		printf(":%s:%s%s%s", o->arg, o->values[0] ? "(" : "", o->values, o->values[0] ? ")" : "");
	printf("'");
}

static void zsh(void)
{
	char help[80];
	printf("#compdef filspy perf-pyspy\n# filspy completion for zsh: filspy completions zsh > "
	       "\"${fpath[1]}/_filspy\"\n_filspy() {\n  local -a commands\n  commands=(");
	for (const cli_command *c = commands__table; c->name; c++)
		printf("\n    '%s:%s'", c->name, plain(c->summary, help, sizeof(help)));
	printf("\n  )\n  if (( CURRENT == 2 )); then _describe command commands; return; fi\n"
	       "  local cmd=$words[2]\n  shift words; (( CURRENT-- ))\n  case $cmd in\n");
	for (const cli_command *c = commands__table; c->name; c++) {
		printf("    %s) _arguments -s", c->name);
		each_option(c, zsh_option, NULL);
		const char *rest = !strcmp(c->operand, "command") ? "'*::command:_normal'"
				 : !strcmp(c->operand, "pid") ? "'1:pid:_pids'"
				 : !strcmp(c->operand, "file") ? "'*:file:_files'"
				 : !strcmp(c->operand, "shell") ? "'1:shell:(bash zsh fish)'"
				 : !strcmp(c->operand, "command-name") ? "'1:command:($(filspy completions names))'"
				 : NULL;
		printf("%s%s;;\n", rest ? " \\\n      " : "", rest ? rest : "");
	}
	printf("  esac\n}\n_filspy \"$@\"\n");
}

static void fish_option(const cli_command *c, const struct opt *o, void *ctx)
{
	char help[80];
	printf("complete -c filspy -n '__fish_seen_subcommand_from %s'", c->name);
	if (o->short_name)
		printf(" -s %c", o->short_name);
	printf(" -l %s%s", o->name, o->arg ? " -r" : "");
	if (o->values[0])
		printf(" -x -a '%s'", o->values);
	printf(" -d '%s'\n", plain(o->help ? o->help : "", help, sizeof(help)));
}

static void fish(void)
{
	char help[80];
	printf("# filspy completion for fish: filspy completions fish > "
	       "~/.config/fish/completions/filspy.fish\n");
	for (const cli_command *c = commands__table; c->name; c++)
		printf("complete -c filspy -n __fish_use_subcommand -f -a %s -d '%s'\n", c->name,
		       plain(c->summary, help, sizeof(help)));
	for (const cli_command *c = commands__table; c->name; c++)
		each_option(c, fish_option, NULL);
	printf("complete -c filspy -n '__fish_seen_subcommand_from completions' -f -a 'bash zsh fish'\n"
	       "complete -c filspy -n '__fish_seen_subcommand_from dump top attach' -f -a "
	       "'(__fish_complete_pids)'\n");
}

int completions__main(int argc, char **argv)
{
	const char *shell = argc > 1 ? argv[1] : "";
	if (!strcmp(shell, "bash"))
		bash();
	else if (!strcmp(shell, "zsh"))
		zsh();
	else if (!strcmp(shell, "fish"))
		fish();
	else if (!strcmp(shell, "names")) /* the scripts' list of commands */
		for (const cli_command *c = commands__table; c->name; c++)
			printf("%s\n", c->name);
	else {
		fs_error("completions: name a shell: bash, zsh or fish (got '%s')", shell);
		return 2;
	}
	return 0;
}
