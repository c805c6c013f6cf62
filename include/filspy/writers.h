/* Output writers: each turns a finished profile into one file format. */
#ifndef FILSPY_WRITERS_H
#define FILSPY_WRITERS_H

#include <stdio.h>

#include "filspy/profile.h"

/* What a writer may show about the run besides the stacks. Every field may be
 * NULL or 0 when unknown. */
typedef struct fs_profile_meta {
	const char *title;    /* the command line */
	const char *backend;  /* "self", "bpf", "pyspy" */
	int rate_hz;
	double duration_s;
	int pid;              /* the profiled process, 0 when unknown */
	/* differential flamegraphs: per node id, a colour (0xRRGGBB) and a change in
	 * percentage points shown in the title; NULL for an ordinary flamegraph */
	const uint32_t *node_rgb;
	const double *node_delta;
	/* lines of text ('\n'-separated, shown as they are in a fixed-width font)
	 * between the title and the flamegraph, e.g. the GIL view's per-thread table;
	 * NULL for none. The svg writer shows them, the others ignore them. */
	const char *notes;
} fs_profile_meta;

/* Folded stacks as py-spy writes them: "frame;frame COUNT\n", root first,
 * frame = "name (file:line)". Returns 0, or -errno on a write error. */
int out_raw__write(fs_profile *p, FILE *f);

/* Self-contained interactive flamegraph. Returns 0, or -errno on a write error. */
int out_svg__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* speedscope's file format: one sampled profile per thread (top-level
 * "thread (TID): NAME" frames), else one for the process; weights in seconds.
 * Returns 0, or -errno. */
int out_speedscope__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* gzip-compressed perftools.profiles.Profile with samples/count and
 * cpu/nanoseconds. Returns 0, or -errno. */
int out_pprof__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

#endif
