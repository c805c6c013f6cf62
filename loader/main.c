/* The filspy command. `filspy run` (also installed as perf-pyspy) sets the
 * settings and LD_PRELOAD, then becomes the command: its exit status is the
 * command's own. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/log.h"
#include "filspy/settings.h"
#include "diff.h"
#include "doctor.h"
#include "attach.h"
#include "cli.h"
#include "live.h"
#include "report.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: filspy run [OPTIONS] [--] COMMAND [ARGS...]\n"
		   "       perf-pyspy [OPTIONS] [--] COMMAND [ARGS...]\n"
		   "       filspy report IN -f svg|raw|speedscope|pprof -o OUT\n"
		   "       filspy diff BEFORE AFTER -o DIFF.svg [--top N]\n"
		   "       filspy attach [OPTIONS] PID      (--duration S: stop after S seconds)\n"
		   "       filspy doctor [--json]\n"
		   "       filspy dump PID | filspy top PID [--iterations N] [--sort own|total]\n"
		   "       filspy --version | --help | --print-preload (the agent's path)\n\n"
		   "Profiles every Python process COMMAND starts and writes a flamegraph to\n"
		   "OUTPUT_DIR/LABEL-pyspy.svg when it ends. Each option sets the environment\n"
		   "variable shown; the variables alone do the same without filspy:\n"
		   "  LD_PRELOAD=libfilspy.so FIL_PERF_SPY_ENABLED=1 COMMAND\n\n"
		   "options:\n");
	for (const fs_setting_info *s = settings__table; s->env; s++) {
		if (!strcmp(s->option, "enabled"))
			continue;
		char left[48], help[160];
		snprintf(left, sizeof(left), "--%s%s%s", s->option, s->arg ? " " : "",
			 s->arg ? s->arg : "");
		fprintf(f, "  %-26s %-26s %s\n", left, s->env, settings__help(s, help, sizeof(help)));
	}
	fprintf(f, "\nDocumentation: docs/performance/py-spy.md\n");
}

static int run(int argc, char **argv, int first)
{
	int cmd = cli__apply_options(argc, argv, first);
	if (cmd < 0)
		return EXIT_USAGE;
	fs_settings s;
	extern char **environ;
	settings__parse(&s, environ);
	if (s.pid) { /* FIL_PERF_SPY_PID: attach instead of running a command */
		char pid[24];
		snprintf(pid, sizeof(pid), "%ld", s.pid);
		char *attach_argv[] = { "attach", pid, NULL };
		return attach__main(2, attach_argv);
	}
	if (cmd >= argc) {
		fs_error("no command to run (usage: filspy run [OPTIONS] -- COMMAND [ARGS...])");
		return EXIT_USAGE;
	}
	char lib[PATH_MAX];
	int err = cli__find_library(lib, sizeof(lib));
	if (err) {
		fs_error("cannot find libfilspy.so next to filspy or in ../lib (%s); set "
			 "FILSPY_LIBRARY", strerror(-err));
		return EXIT_USAGE;
	}
	const char *preload = getenv("LD_PRELOAD");
	if (preload && *preload && !strstr(preload, lib)) {
		size_t n = strlen(lib) + strlen(preload) + 2;
		char *both = malloc(n);
		if (!both)
			return 1;
		snprintf(both, n, "%s:%s", lib, preload);
		setenv("LD_PRELOAD", both, 1);
		free(both);
	} else if (!preload || !*preload) {
		setenv("LD_PRELOAD", lib, 1);
	}
	setenv("FIL_PERF_SPY_ENABLED", "1", 1);
	execvp(argv[cmd], argv + cmd);
	fs_error("cannot run %s: %s", argv[cmd], strerror(errno));
	return errno == ENOENT ? 127 : 126;
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
	if (!strcmp(self, "perf-pyspy")) {
		if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			usage(stdout);
			return 0;
		}
		return run(argc, argv, 1);
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(sub, "--version") || !strcmp(sub, "version")) {
		printf("filspy %s\n", FILSPY_VERSION);
		return 0;
	}
	if (!strcmp(sub, "--print-preload"))
		return print_preload();
	if (!strcmp(sub, "run"))
		return run(argc, argv, 2);
	if (!strcmp(sub, "report"))
		return report__main(argc - 1, argv + 1);
	if (!strcmp(sub, "diff"))
		return diff__main(argc - 1, argv + 1);
	if (!strcmp(sub, "doctor"))
		return doctor__main(argc - 1, argv + 1);
	if (!strcmp(sub, "dump"))
		return live__dump_main(argc - 1, argv + 1);
	if (!strcmp(sub, "top"))
		return live__top_main(argc - 1, argv + 1);
	if (!strcmp(sub, "attach"))
		return attach__main(argc - 1, argv + 1);
	fs_error("unknown command '%s' (see filspy --help)", sub);
	return EXIT_USAGE;
}
