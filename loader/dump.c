/* `filspy dump [--pid] PID [--locals] [--json] [--native] [--subprocesses]`: each
 * thread's stack from the agent in the process over its control socket, else from
 * py-spy (with ptrace); with --subprocesses, every Python process of the tree once.
 * --native asks py-spy dump --native: a thread's registers and stack cannot be
 * read from inside the process without stopping it, which the agent never does;
 * py-spy stops the process for the moment of the dump. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "filspy/control_protocol.h"
#include "filspy/log.h"
#include "filspy/pyspy_path.h"
#include "filspy/spawn.h"
#include "cli.h"
#include "dump.h"
#include "dump_json.h"
#include "live.h"

#define EXIT_USAGE 2
static bool has_flag(int argc, char **argv, const char *a, const char *b)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], a) || (b && !strcmp(argv[i], b)))
			return true;
	return false;
}

/* whether an agent answers in pid */
static bool agent_answers(long pid)
{
	char *info = live__ask(pid, CONTROL_INFO);
	free(info);
	return info != NULL;
}

#define TREE_MAX 256
#define PYSPY_OUTPUT_MAX (4 << 20)

/* One process's dump: from its agent, else from py-spy (with ptrace). With json,
 * its threads are written as members of the caller's array (*first: none yet).
 * quiet_if_not_python: a tree's other programs are passed over without a word.
 * Returns 0, 1 when it could not be dumped. */
static int dump_one(long pid, bool json, bool locals, bool native, bool *first,
		    bool quiet_if_not_python)
{
	char *answer = native ? NULL : live__ask(pid, locals ? CONTROL_DUMP_LOCALS : CONTROL_DUMP);
	if (answer) {
		int status = 0;
		if (!json) {
			fputs(answer, stdout);
		} else {
			char *body = NULL;
			size_t len = 0;
			FILE *mem = open_memstream(&body, &len);
			if (!mem || dump_json__print(answer, mem) < 0) {
				fs_error("dump: the agent in pid %ld answered no dump: %.200s", pid,
					 answer);
				status = 1;
			}
			if (mem)
				fclose(mem);
			/* "[...]\n": its members go into the one array */
			if (!status && len > 3) {
				printf("%s%.*s", *first ? "" : ", ", (int)(len - 3), body + 1);
				*first = false;
			}
			free(body);
		}
		free(answer);
		return status;
	}
	char program[256];
	if (!native && !cli__is_python(pid, program, sizeof(program))) {
		if (quiet_if_not_python)
			return 0;
		fs_error("pid %ld is not a Python process (it runs %s, with no libpython in it); "
			 "no stacks to dump", pid, program);
		return 1;
	}
	/* no agent in there: py-spy can still read it, with ptrace */
	char path[4096], pidtext[24], looked[1024];
	if (pyspy_path__find(getenv("FIL_PERF_SPY_PYSPY"), path, sizeof(path), looked,
			     sizeof(looked)) < 0) {
		fs_error("process %ld %s and py-spy is not found to read it with ptrace "
			 "(looked %s): pip install py-spy", pid,
			 native ? "has its native frames dumped by py-spy" : "runs no filspy agent",
			 looked);
		return 1;
	}
	snprintf(pidtext, sizeof(pidtext), "%ld", pid);
	if (native)
		fs_info("dump --native: asking py-spy, which stops process %ld for the moment of "
			"the dump (needs ptrace)", pid);
	else
		fs_info("process %ld runs no filspy agent; asking py-spy (needs ptrace)", pid);
	char *args[8] = { path, "dump", "--pid", pidtext };
	int n = 4;
	if (native)
		args[n++] = "--native";
	if (json)
		args[n++] = "--json";
	if (locals)
		args[n++] = "--locals";
	args[n] = NULL;
	char *out = malloc(PYSPY_OUTPUT_MAX);
	int status = 0;
	int err = out ? spawn__capture(args, out, PYSPY_OUTPUT_MAX, 30000, &status) : -ENOMEM;
	if (err || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fs_error("py-spy could not dump pid %ld (%s)", pid,
			 err ? strerror(-err) : "it failed; run as root or with CAP_SYS_PTRACE");
		free(out);
		return 1;
	}
	char *open_ = json ? strchr(out, '[') : NULL, *close_ = json ? strrchr(out, ']') : NULL;
	if (!json) {
		fputs(out, stdout);
	} else if (open_ && close_ && close_ > open_ + 1) {
		printf("%s%.*s", *first ? "" : ", ", (int)(close_ - open_ - 1), open_ + 1);
		*first = false;
	}
	free(out);
	return 0;
}

int dump__main(int argc, char **argv)
{
	long pid = live__parse_pid(argc, argv, "usage: filspy dump [--pid] PID");
	if (pid < 0)
		return EXIT_USAGE;
	bool json = has_flag(argc, argv, "--json", "-j");
	bool locals = has_flag(argc, argv, "--locals", "-l");
	bool tree = has_flag(argc, argv, "--subprocesses", "-s");
	bool native = has_flag(argc, argv, "--native", "-n");
	long pids[TREE_MAX];
	int n = tree ? cli__descendants(pid, pids, TREE_MAX) : 1;
	pids[0] = pid;
	bool first = true;
	int failed = 0, dumped = 0;
	if (json)
		putchar('[');
	for (int i = 0; i < n; i++) {
		char program[256];
		bool python = agent_answers(pids[i]) || cli__is_python(pids[i], program, sizeof(program));
		if (tree && !python)
			continue; /* the tree's shells and other programs */
		if (!json && dumped)
			putchar('\n');
		failed += dump_one(pids[i], json, locals, native, &first, tree);
		dumped++;
		fflush(stdout);
	}
	if (json)
		printf("]\n");
	if (!dumped) {
		fs_error("no Python process in the tree of pid %ld", pid);
		return 1;
	}
	return failed ? 1 : 0;
}
