/* What both ways of `filspy attach` share (loader/session.c): waiting for the
 * end, writing and naming the files, and reusing an agent that already samples. */
#ifndef FILSPY_SESSION_H
#define FILSPY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "filspy/profile.h"
#include "filspy/settings.h"

/* Ctrl-C and SIGTERM end the wait below instead of filspy. */
void session__catch_signals(void);

/* Whether Ctrl-C or SIGTERM came (the py-spy fallback forwards it). */
int session__stopped(void);

/* Waits until the duration asked, Ctrl-C/SIGTERM or the end of process pid. */
void session__wait(const fs_settings *s, long pid);

/* The same, calling every(ctx) about twice a second meanwhile. */
void session__wait_calling(const fs_settings *s, long pid, void (*every)(void *ctx), void *ctx);

/* Writes p in each format of s that has a writer (the first one to s->file when
 * set), naming each file written. Returns 0, or 1 if one could not be written. */
int session__write(const fs_settings *s, long pid, fs_profile *p, double seconds,
		   const char *backend);

/* Names, one `filspy:` line each, the files the agent in pid wrote for s under
 * dir/label since the session began; returns how many. */
int session__name_files(const fs_settings *s, const char *dir, const char *label,
			const struct timespec *since);

/* pid's agent already samples (a filspy run, or another attach): profiles the
 * window from now to the end of the wait from two snapshots over its socket,
 * without ptrace. Returns the exit status. */
int session__reuse(const fs_settings *s, long pid);

#endif
