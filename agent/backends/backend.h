/* How the sampler thread gets stacks: the table every backend fills in. */
#ifndef FILSPY_BACKEND_H
#define FILSPY_BACKEND_H

#include <stdbool.h>
#include <stdio.h>

#include "filspy/backends.h"

struct fs_agent;

typedef struct fs_backend {
	const char *name;
	/* Prepares sampling once the interpreter is initialised. Returns 0, or -errno
	 * with *why set to a sentence for the user. */
	int (*start)(struct fs_agent *a, const char **why);
	/* Takes one sample of every thread into a->profile; NULL when the backend
	 * samples by itself (the sampler then only watches it). */
	void (*sample)(struct fs_agent *a);
	/* For a backend that samples by itself: collects what it sampled into
	 * a->profile, and returns in how many ns it wants to be called again (the
	 * sampler jitters it, and calls sooner when a->poll_fd turns readable);
	 * NULL when it needs no help. */
	long long (*poll)(struct fs_agent *a);
	/* NULL or false when the backend died on its way, with *why set. */
	bool (*alive)(struct fs_agent *a, const char **why);
	/* Ends sampling and leaves every sample in a->profile. */
	void (*stop)(struct fs_agent *a);
	/* Writes every thread's current stack, innermost frame first; NULL when the
	 * backend cannot. */
	void (*dump)(struct fs_agent *a, FILE *f);
	/* In a forked child, when this backend was the parent's: lets go of what the
	 * parent's session holds (descriptors) without touching its locks; NULL when
	 * there is nothing to let go. */
	void (*after_fork)(struct fs_agent *a);
} fs_backend;

/* The backend of a choice (not FS_BACKEND_AUTO), in agent/backends/registry.c: with
 * backends__order[] (core/backends.c) the one list auto walks. */
const fs_backend *registry__backend(enum fs_backend_choice choice);

#endif
