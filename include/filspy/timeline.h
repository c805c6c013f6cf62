/* The samples of a profile in the order they were taken, per thread: what
 * speedscope's time-order view shows. Bounded: past its cap, samples are only
 * aggregated (in the profile's tree). */
#ifndef FILSPY_TIMELINE_H
#define FILSPY_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#include "filspy/profile.h"

/* The cap on kept samples (8 bytes each: 4 MiB at most). Consecutive samples of a
 * thread with the same stack share one entry, so a thread that sits in one place
 * costs little; at 100 Hz one busy thread fills it in about 87 minutes. */
#define TIMELINE_MAX_ENTRIES (1u << 19)
/* Threads kept apart (more are left out of the time order, counted as dropped) */
#define TIMELINE_MAX_THREADS 1024
#define TIMELINE_NAME_LEN 80

typedef struct fs_timeline_entry {
	fs_node_id node;   /* the stack's leaf in the profile's tree */
	uint16_t thread;   /* index into the thread table */
	uint16_t count;    /* samples (consecutive, same stack) */
} fs_timeline_entry;

typedef struct fs_timeline_thread {
	int tid;
	char name[TIMELINE_NAME_LEN];  /* "" when unknown */
	uint32_t last;                 /* index of its newest entry, UINT32_MAX for none */
} fs_timeline_thread;


/* An empty timeline of at most max_entries (0: TIMELINE_MAX_ENTRIES); NULL when out
 * of memory. Grows as samples come. Free with timeline__free. */
fs_timeline *timeline__new(size_t max_entries);
void timeline__free(fs_timeline *t);

/* Appends count samples of thread tid whose stack ends at node; name (NULL: keep
 * the one it has) is the thread's name now. Once the cap is reached samples are
 * dropped from the time order (counted), and one line says so on stderr. */
void timeline__add(fs_timeline *t, int tid, const char *name, fs_node_id node, uint64_t count);

/* Read access for the writers: the entries in the order taken, the threads in the
 * order first seen, and how many samples the cap (or the thread table) left out. */
const fs_timeline_entry *timeline__entries(const fs_timeline *t, size_t *n);
const fs_timeline_thread *timeline__threads(const fs_timeline *t, size_t *n);
uint64_t timeline__dropped(const fs_timeline *t);

#endif
