/* Exit paths: fatal-signal handlers, _exit/_Exit, atexit and fork handlers, which
 * call back into the session through the functions given at install. */
#ifndef FILSPY_EXIT_HOOKS_H
#define FILSPY_EXIT_HOOKS_H

#include <stdbool.h>

typedef struct exit_hooks_calls {
	/* true in the process that profiles (a vfork child shares our memory but is
	 * not it) */
	bool (*in_profiled_process)(void);
	/* true while the session samples */
	bool (*sampling)(void);
	/* writes the files and stops, waiting at most timeout_ms */
	void (*finish)(int timeout_ms);
	/* in a forked child, first thing */
	void (*after_fork_child)(void);
} exit_hooks_calls;

/* Called once from the constructor of a profiled process. */
void exit_hooks__install(const exit_hooks_calls *calls);

#endif
