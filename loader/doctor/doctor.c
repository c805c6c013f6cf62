/* `filspy doctor`: tries, rather than guesses, what this host allows the bpf,
 * pyspy and self backends, and says how to fix what is refused. This file runs
 * the checks in their order and says which backend `auto` would take. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../doctor.h"
#include "doctor_internal.h"
#include "filspy/backends.h"
#include "filspy/log.h"
#include "filspy/spawn.h"

#define EXIT_USAGE 2

/* A fatal signal also kills the program being run and what it started: they sit
 * in their own process group, which the terminal's Ctrl-C does not reach. */
static void die_with_probe(int sig)
{
	pid_t group = spawn__capturing();
	if (group > 0)
		kill(-group, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig); /* delivered, now fatal, when this handler returns */
}

static void handle_signals(void)
{
	static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = die_with_probe;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(fatal) / sizeof(*fatal); i++) {
		struct sigaction old;
		/* one ignored (nohup, a background job) stays ignored */
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(fatal[i], &sa, NULL);
	}
	/* a trial child that died early must not kill us through a pipe */
	signal(SIGPIPE, SIG_IGN);
}

/* Whether the checks say backend can sample here: *reason says why it can, or
 * why not. */
static bool usable(enum fs_backend_choice backend, const char **reason)
{
	bool pyspy = doctor_results__is_ok("py-spy");
	bool allowed = doctor_results__is_ok("BPF permission") && doctor_results__is_ok("perf events");
	switch (backend) {
	case FS_BACKEND_BPF:
		if (doctor_results__is_ok("bpf program")) {
			*reason = "its program loads and attaches here";
			return true;
		}
		*reason = allowed ? "its program does not load (see `bpf program`)" :
			  "the host refuses it";
		return false;
	case FS_BACKEND_PYSPY:
		if (pyspy && doctor_results__is_ok("ptrace by a child")) {
			*reason = "py-spy is found and a child may ptrace the program";
			return true;
		}
		*reason = !pyspy ? "py-spy is not found or does not run" :
			  "a child may not ptrace the program";
		return false;
	case FS_BACKEND_SELF:
		if (doctor_results__is_ok("process_vm_readv")) {
			*reason = "self reads the interpreter's memory with process_vm_readv";
			return true;
		}
		*reason = "process_vm_readv is refused";
		return false;
	default:
		*reason = "filspy doctor has no check for it";
		return false;
	}
}

/* What `auto` would choose: the first usable backend in auto's own order. */
static const char *auto_backend(char *why, size_t size)
{
	why[0] = 0;
	for (const fs_backend_info *b = backends__order; b->name; b++) {
		const char *reason;
		bool ok = usable(b->choice, &reason);
		doctor_results__append(why, size, "%s", why[0] ? "; " : "");
		if (ok) {
			doctor_results__append(why, size, "%s", reason);
			return b->name;
		}
		doctor_results__append(why, size, "%s: %s", b->name, reason);
	}
	return "none";
}

/* 1 to go on, 0 when done (help), -1 on bad usage. */
static int parse_args(int argc, char **argv, bool *json)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			*json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: filspy doctor [--json]\n");
			return 0;
		} else {
			fs_error("doctor: unknown option %s (usage: filspy doctor [--json])",
				 argv[i]);
			return -1;
		}
	}
	return 1;
}

int doctor__main(int argc, char **argv)
{
	bool json = false;
	int go = parse_args(argc, argv, &json);
	if (go <= 0)
		return go < 0 ? EXIT_USAGE : 0;
	handle_signals();
	struct host h;
	struct trials t;
	doctor_host__read(&h);
	doctor_trials__run(&t);
	doctor_checks__kernel(&h);
	doctor_checks__btf(&h);
	doctor_checks__bpf(&h, &t);
	doctor_checks__perf(&h, &t);
	doctor_bpf_program__check(&h);
	doctor_ptrace__check(&h, &t);
	doctor_ptrace__check_yama(&h);
	doctor_checks__caps(&h);
	doctor_checks__seccomp(&h, &t);
	doctor_checks__vm_readv(&h, &t);
	doctor_checks__pyspy();
	doctor_pythons__find();
	char why[DOCTOR_TEXT];
	const char *backend = auto_backend(why, sizeof(why));
	if (json)
		doctor_print__json(&h, backend, why);
	else
		doctor_print__table(backend, why);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fs_error("doctor: cannot write the report: %s", strerror(errno));
		return 1;
	}
	return 0;
}
