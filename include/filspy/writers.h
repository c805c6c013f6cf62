/* Output writers, the one table of output formats (core/writers/formats.c) and the
 * aside-then-rename file writer they go through (core/writers/atomic_file.c). */
#ifndef FILSPY_WRITERS_H
#define FILSPY_WRITERS_H

#include <stdbool.h>
#include <stddef.h>
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
	/* samples the backend dropped or cut short (agent.h's lost_*), shown with the
	 * kept ones when counts_known */
	uint64_t dropped, cut;
	bool counts_known;
} fs_profile_meta;

/* "N dropped as torn, M cut short" for meta's counts into buf (size bytes); ""
 * when they are not known. */
const char *writers__losses(const fs_profile_meta *meta, char *buf, size_t size);

/* Every format's writer: turns a finished profile into one file. meta may be NULL.
 * Returns 0, or -errno on a write error. */
typedef int (*fs_profile_writer)(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* Folded stacks as py-spy writes them: "frame;frame COUNT\n", root first,
 * frame = "name (file:line)". meta is not used: the format has no place for it. */
int out_raw__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* Self-contained interactive flamegraph. */
int out_svg__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* speedscope's file format, weights in seconds: with the profile's timeline (see
 * profile__keep_timeline), one sampled profile per thread of its samples in the
 * order taken (py-spy's shape); without, one aggregated profile per top-level
 * "thread (TID): NAME" frame, else one for the process. */
int out_speedscope__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* gzip-compressed perftools.profiles.Profile with samples/count and
 * cpu/nanoseconds. */
int out_pprof__write(fs_profile *p, const fs_profile_meta *meta, FILE *f);

/* The output formats, one row each, in the order of the help text and of the files
 * written. Columns: ID (FS_FORMAT_<ID> is its bit in fs_settings.formats); the name
 * FIL_PERF_SPY_OUTPUT and `filspy report -f` take; other names they accept
 * (comma-separated, NULL for none); what follows the label in the file's name; the
 * writer, NULL for gil: the agent writes that one from its GIL view
 * (agent/sampling/gilview.c), not from a profile, so `filspy report` and `filspy
 * attach` cannot. A new format is its writer's file (core/writers/out_NAME.c), its
 * prototype above and a row here. "flamegraph" is py-spy's name for svg. */
#define FS_FORMATS(X)                                                                               \
	X(SVG,        "svg",        "flamegraph", "-pyspy.svg",             out_svg__write)         \
	X(RAW,        "raw",        NULL,         "-pyspy.txt",             out_raw__write) \
	X(SPEEDSCOPE, "speedscope", NULL,         "-pyspy.speedscope.json", out_speedscope__write)  \
	X(PPROF,      "pprof",      NULL,         "-pyspy.pb.gz",           out_pprof__write)       \
	X(GIL,        "gil",        NULL,         "-pyspy-gil.svg",         NULL)

/* A format's row in formats__table. */
enum fs_format_row {
#define FS_FORMAT_ROW_(id, ...) FS_FORMAT_ROW_##id,
	FS_FORMATS(FS_FORMAT_ROW_)
#undef FS_FORMAT_ROW_
	FS_FORMAT_ROWS
};

/* A format's bit in fs_settings.formats. */
enum fs_format {
#define FS_FORMAT_BIT_(id, ...) FS_FORMAT_##id = 1 << FS_FORMAT_ROW_##id,
	FS_FORMATS(FS_FORMAT_BIT_)
#undef FS_FORMAT_BIT_
};

typedef struct fs_format_info {
	const char *name;
	const char *aliases;      /* comma-separated, NULL for none */
	enum fs_format flag;
	const char *suffix;       /* "-pyspy.svg": the file is <label><suffix> */
	fs_profile_writer write;  /* NULL: not written from a profile (gil) */
} fs_format_info;

/* FS_FORMATS in order (formats__table[FS_FORMAT_ROW_RAW] is raw), then a row whose
 * name is NULL. */
extern const fs_format_info formats__table[];

/* The format called name or one of its aliases, case-insensitively; NULL if none. */
const fs_format_info *formats__named(const char *name);

/* Writes the formats' names into out (size > 0), joined by sep, e.g. "svg, raw, ...":
 * every format, or with profile_only only those that have a writer. Cut to fit.
 * Returns out. */
const char *formats__names(char *out, size_t size, const char *sep, bool profile_only);

/* Writes into f what a caller wants in a file. Returns 0 or -errno. */
typedef int (*fs_file_writer)(void *ctx, FILE *f);

/* What formats__write_job writes: p in format, which has a writer. */
typedef struct fs_format_job {
	const fs_format_info *format;
	fs_profile *p;
	const fs_profile_meta *meta;
} fs_format_job;

/* An fs_file_writer for atomic_file__write: job is an fs_format_job. */
int formats__write_job(void *job, FILE *f);

/* Writes path through writer(ctx, f) into a file beside it (path.tmp.PID) that
 * replaces path only when writer returned 0 and every byte reached the file: a reader
 * sees the old file or the whole new one, and a failure leaves neither a partial
 * file nor the temporary one. Prints nothing. Returns 0 or -errno. */
int atomic_file__write(const char *path, fs_file_writer writer, void *ctx);

#endif
