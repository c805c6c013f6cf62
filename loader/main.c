/* The filspy command: finds the command named in argv[1] in the table
 * (loader/commands.c), checks its options, and hands over. Installed as
 * perf-pyspy too, which is `filspy run`. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "filspy/log.h"
#include "attach.h"
#include "cli.h"
#include "commands.h"
#include "completions.h"
#include "diff.h"
#include "doctor.h"
#include "dump.h"
#include "live.h"
#include "options.h"
#include "report.h"
#include "run.h"
#include "top.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: filspy COMMAND [OPTIONS] ...   (filspy COMMAND --help for each)\n"
		   "       perf-pyspy [OPTIONS] [--] COMMAND [ARGS...]   (filspy run)\n\ncommands:\n");
	for (const cli_command *c = commands__table; c->name; c++)
		fprintf(f, "  %-12s %s\n", c->name, c->summary);
	fprintf(f, "\nfilspy run: ");
	commands__usage(commands__named("run"), f);
	fprintf(f, "\nfilspy --print-preload prints the agent's path, for LD_PRELOAD=$(filspy "
		   "--print-preload)\n");
	fprintf(f, "\nDocumentation: docs/usage.md, docs/performance/py-spy.md\n");
}

static int dispatch(const cli_command *c, int argc, char **argv)
{
	const char *n = c->name;
	if (!strcmp(n, "run") || !strcmp(n, "record"))
		return run__main(c, argc, argv, 1);
	if (!strcmp(n, "attach"))
		return attach__main(argc, argv);
	int go = options__check(c, argc, argv);
	if (go)
		return go < 0 ? EXIT_USAGE : 0;
	if (!strcmp(n, "report") || !strcmp(n, "convert"))
		return report__main(argc, argv);
	if (!strcmp(n, "diff"))
		return diff__main(argc, argv);
	if (!strcmp(n, "doctor"))
		return doctor__main(argc, argv);
	if (!strcmp(n, "dump"))
		return dump__main(argc, argv);
	if (!strcmp(n, "top"))
		return top__main(argc, argv);
	if (!strcmp(n, "completions"))
		return completions__main(argc, argv);
	if (!strcmp(n, "version")) {
		printf("filspy %s\n", FILSPY_VERSION);
		return 0;
	}
	/* help [COMMAND] */
	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	const cli_command *about = commands__named(argv[1]);
	if (!about)
		return EXIT_USAGE;
	commands__usage(about, stdout);
	return 0;
}

/* The agent's path, for LD_PRELOAD=$(filspy --print-preload) */
static int print_preload(void)
{
	char lib[PATH_MAX];
	int err = cli__find_library(lib, sizeof(lib));
	if (err) {
		fs_error("cannot find libfilspy.so next to filspy or in ../lib (%s)", strerror(-err));
		return 1;
	}
	printf("%s\n", lib);
	return 0;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/');
	self = self ? self + 1 : argv[0];
	if (!strcmp(self, "perf-pyspy"))
		return run__main(commands__named("run"), argc, argv, 1);
	if (argc < 2) {
		char names[256] = "";
		for (const cli_command *c = commands__table; c->name; c++)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
				 c == commands__table ? "" : ", ", c->name);
		fs_error("name a command: %s (see filspy --help)", names);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "--version") || !strcmp(sub, "-V")) {
		printf("filspy %s\n", FILSPY_VERSION);
		return 0;
	}
	if (!strcmp(sub, "--print-preload"))
		return print_preload();
	if (sub[0] == '-') {
		fs_error("%s before a command; options follow it: filspy run %s ... (see filspy "
			 "--help)", sub, sub);
		return EXIT_USAGE;
	}
	const cli_command *c = commands__named(sub);
	return c ? dispatch(c, argc - 1, argv + 1) : EXIT_USAGE;
}
