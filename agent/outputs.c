/* Where the files go and how they appear: written aside, then renamed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "sampling/gilview.h"
#include "outputs.h"

#define CHECKPOINT_SUFFIX "-pyspy.partial.txt"

static int mkdir_p(const char *dir)
{
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0777) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0777) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int outputs__prepare_dir(fs_agent *a)
{
	int err = mkdir_p(a->output_dir);
	struct stat st;
	/* mkdir's EEXIST is a file too: say so, not access()'s "Permission denied" */
	if (!err && stat(a->output_dir, &st) == 0 && !S_ISDIR(st.st_mode))
		err = -ENOTDIR;
	if (!err && access(a->output_dir, W_OK | X_OK) < 0)
		err = -errno;
	if (err) {
		fs_error("cannot write to FIL_PERF_OUTPUT_DIR %s: %s; not profiling", a->output_dir,
			 strerror(-err));
		return err;
	}
	return 0;
}

static fs_profile_meta meta_of(const fs_agent *a)
{
	return (fs_profile_meta){
		.title = a->title,
		.backend = a->backend ? a->backend->name : "",
		.rate_hz = a->settings.rate_hz,
		.duration_s = a->sampled_s,
		.pid = a->pid,
		.dropped = a->lost_dropped,
		.cut = a->lost_cut,
		.counts_known = a->lost_known,
	};
}

/* The one format without a writer of its own (writers.h): from the GIL view */
static int write_gil(void *meta, FILE *f)
{
	return gilview__write(meta, f);
}

/* The directory's length was checked at start-up (set_output_dir): this fits. */
static void path_for(const fs_agent *a, const char *suffix, char *out, size_t size)
{
	if (snprintf(out, size, "%s/%s%s", a->output_dir, a->label, suffix) >= (int)size)
		out[0] = 0;
}

/* FILSPY_ACTIVATION (agent/agent.c) names the run's first process; an attach
 * session is a run of its own */
static bool first_of_run(const fs_agent *a)
{
	const char *root = getenv("FILSPY_ACTIVATION");
	return a->attached || !root || atol(root) == a->pid;
}

void outputs__write(fs_agent *a, bool final)
{
	char path[4200];

	if (a->settings.mode == FS_MODE_TOP)
		return; /* a live view only: `filspy top PID` reads it through the socket */
	profile__finish_totals(a->profile);
	if (!final) {
		path_for(a, CHECKPOINT_SUFFIX, path, sizeof(path));
		fs_format_job raw = { &formats__table[FS_FORMAT_ROW_RAW], a->profile, NULL };
		int err = atomic_file__write(path, formats__write_job, &raw);
		if (err)
			fs_debug("checkpoint %s not written: %s", path, strerror(-err));
		return;
	}
	uint64_t samples = profile__samples(a->profile);
	fs_profile_meta meta = meta_of(a);
	/* -o FILE: the first format goes there; descendants keep their own names */
	bool to_file = a->settings.file[0] && first_of_run(a);
	for (const fs_format_info *fmt = formats__table; fmt->name; fmt++) {
		if (!(a->settings.formats & fmt->flag))
			continue;
		if (!fmt->write && !gilview__on()) {
			fs_warn("FIL_PERF_SPY_OUTPUT=gil: the %s backend does not tell GIL states; "
				"no GIL view written (the self backend has it)",
				a->backend ? a->backend->name : "chosen");
			continue;
		}
		if (to_file)
			snprintf(path, sizeof(path), "%s", a->settings.file);
		else
			path_for(a, fmt->suffix, path, sizeof(path));
		to_file = false;
		fs_format_job job = { fmt, a->profile, &meta };
		int err = fmt->write ? atomic_file__write(path, formats__write_job, &job)
				     : atomic_file__write(path, write_gil, &meta);
		if (err)
			fs_error("cannot write %s: %s", path, strerror(-err));
		else if (!fmt->write) {
			fs_info("wrote %s (the GIL view, %.1f s)", path, a->sampled_s);
			gilview__summary(path);
		} else
			fs_info("wrote %s (%llu sample%s in %.1f s)", path,
				(unsigned long long)samples, samples == 1 ? "" : "s", a->sampled_s);
	}
}

void outputs__remove_checkpoint(fs_agent *a)
{
	char path[4200];
	path_for(a, CHECKPOINT_SUFFIX, path, sizeof(path));
	unlink(path);
}
