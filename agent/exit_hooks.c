/* Every exit route writes the profile: exit() through atexit, os._exit() through an
 * _exit interposer, and death by SIGINT/SIGTERM/SIGHUP/SIGQUIT through handlers the
 * program cannot see (sigaction and signal are interposed to keep its view), after
 * which the signal is raised again so a signal death stays a signal death. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "exit_hooks.h"

#define FINISH_TIMEOUT_MS 3000
#define EXPORT __attribute__((visibility("default")))

typedef int (*sigaction_fn)(int, const struct sigaction *, struct sigaction *);

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
static sigaction_fn real_sigaction;
/* held[s]: our handler is installed where the program believes program_view[s] */
static volatile sig_atomic_t held[NSIG];
static struct sigaction program_view[NSIG];

static int call_real(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (!real_sigaction)
		real_sigaction = (sigaction_fn)dlsym(RTLD_NEXT, "sigaction");
	if (!real_sigaction) {
		errno = ENOSYS;
		return -1;
	}
	return real_sigaction(sig, act, old);
}

/* A vfork child (posix_spawn, subprocess) shares our memory until it execs or
 * exits: what it does must never touch the parent's session. */
static exit_hooks_calls calls;

static bool in_profiled_process(void)
{
	return calls.in_profiled_process && calls.in_profiled_process();
}

static bool watched(int sig)
{
	if (!calls.sampling || !calls.sampling() || !in_profiled_process())
		return false;
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++)
		if (fatal_signals[i] == sig)
			return true;
	return false;
}

static bool is_default(const struct sigaction *act)
{
	return !(act->sa_flags & SA_SIGINFO) && act->sa_handler == SIG_DFL;
}

static void on_fatal_signal(int sig)
{
	int saved_errno = errno;
	if (in_profiled_process()) {
		calls.finish(FINISH_TIMEOUT_MS);
		held[sig] = 0;
	}
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	call_real(sig, &dfl, NULL);
	/* the signal is blocked while we run: raise it, then let it through */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	raise(sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	errno = saved_errno;
}

/* Puts our handler where the program has the default action. */
static void hold(int sig, const struct sigaction *view)
{
	struct sigaction ours;
	memset(&ours, 0, sizeof(ours));
	ours.sa_handler = on_fatal_signal;
	ours.sa_flags = SA_RESTART;
	sigemptyset(&ours.sa_mask);
	program_view[sig] = *view;
	if (call_real(sig, &ours, NULL) == 0)
		held[sig] = 1;
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig <= 0 || sig >= NSIG || (!held[sig] && !watched(sig)) || !in_profiled_process())
		return call_real(sig, act, old);
	if (!held[sig]) {
		int r = call_real(sig, act, old);
		if (r == 0 && act && is_default(act))
			hold(sig, act);
		return r;
	}
	if (old)
		*old = program_view[sig];
	if (!act)
		return 0;
	if (is_default(act)) {
		program_view[sig] = *act;
		return 0;
	}
	held[sig] = 0;
	return call_real(sig, act, NULL);
}

/* glibc's signal() calls its internal sigaction, not ours: route it here. */
EXPORT sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction act, old;
	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	sigemptyset(&act.sa_mask);
	if (sig > 0 && sig < NSIG)
		sigaddset(&act.sa_mask, sig);
	act.sa_flags = SA_RESTART;
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

static __attribute__((noreturn)) void exit_now(int status)
{
	if (in_profiled_process())
		calls.finish(FINISH_TIMEOUT_MS);
	for (;;)
		syscall(SYS_exit_group, status);
}

/* os._exit() skips atexit: the profile is written here instead. */
EXPORT void _exit(int status)
{
	exit_now(status);
}

EXPORT void _Exit(int status)
{
	exit_now(status);
}

static void at_exit(void)
{
	if (in_profiled_process())
		calls.finish(FINISH_TIMEOUT_MS);
}

/* held signals stay held in a child: with nothing to finish, the handler just
 * re-raises */
void exit_hooks__install(const exit_hooks_calls *c)
{
	static bool registered; /* a second `filspy attach` starts a second session */
	calls = *c;
	if (!registered) {
		atexit(at_exit);
		pthread_atfork(NULL, NULL, calls.after_fork_child);
		registered = true;
	}
	struct sigaction current;
	for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(*fatal_signals); i++) {
		int sig = fatal_signals[i];
		if (call_real(sig, NULL, &current) == 0 && is_default(&current))
			hold(sig, &current);
	}
}
