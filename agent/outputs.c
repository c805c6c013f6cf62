/* Where the files go and how they appear: written aside, then renamed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "sampling/gilview.h"

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
	if (!err && access(a->output_dir, W_OK | X_OK) < 0)
		err = -errno;
	if (err) {
		fs_error("cannot write to FIL_PERF_OUTPUT_DIR %s: %s; not profiling", a->output_dir,
			 strerror(-err));
		return err;
	}
	return 0;
}

typedef int (*writer_fn)(fs_agent *a, FILE *f);

static int write_raw(fs_agent *a, FILE *f)
{
	return out_raw__write(a->profile, f);
}

static fs_profile_meta meta_of(const fs_agent *a)
{
	return (fs_profile_meta){
		.title = a->title,
		.backend = a->backend ? a->backend->name : "",
		.rate_hz = a->settings.rate_hz,
		.duration_s = a->sampled_s,
		.pid = a->pid,
	};
}

static int write_svg(fs_agent *a, FILE *f)
{
	fs_profile_meta meta = meta_of(a);
	return out_svg__write(a->profile, &meta, f);
}

static int write_speedscope(fs_agent *a, FILE *f)
{
	fs_profile_meta meta = meta_of(a);
	return out_speedscope__write(a->profile, &meta, f);
}

static int write_pprof(fs_agent *a, FILE *f)
{
	fs_profile_meta meta = meta_of(a);
	return out_pprof__write(a->profile, &meta, f);
}

static int write_gil(fs_agent *a, FILE *f)
{
	fs_profile_meta meta = meta_of(a);
	return gilview__write(&meta, f);
}

/* Writes path through a temporary file in the same directory and a rename, so a
 * reader never sees half a file. Returns 0 or -errno. */
static int write_atomically(fs_agent *a, const char *path, writer_fn writer)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		int err = -errno;
		close(fd);
		unlink(tmp);
		return err;
	}
	int err = writer(a, f);
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The directory's length was checked at start-up (set_output_dir): this fits. */
static void path_for(const fs_agent *a, const char *suffix, char *out, size_t size)
{
	if (snprintf(out, size, "%s/%s%s", a->output_dir, a->label, suffix) >= (int)size)
		out[0] = 0;
}

void outputs__write(fs_agent *a, bool final)
{
	static const struct {
		unsigned format;
		const char *suffix;
		writer_fn writer;
	} formats[] = {
		{ FS_FORMAT_SVG, "-pyspy.svg", write_svg },
		{ FS_FORMAT_RAW, "-pyspy.txt", write_raw },
		{ FS_FORMAT_SPEEDSCOPE, "-pyspy.speedscope.json", write_speedscope },
		{ FS_FORMAT_PPROF, "-pyspy.pb.gz", write_pprof },
		{ FS_FORMAT_GIL, "-pyspy-gil.svg", write_gil },
	};
	char path[4200];

	if (a->settings.mode == FS_MODE_TOP)
		return; /* a live view only: `filspy top PID` reads it through the socket */
	profile__finish_totals(a->profile);
	if (!final) {
		path_for(a, CHECKPOINT_SUFFIX, path, sizeof(path));
		int err = write_atomically(a, path, write_raw);
		if (err)
			fs_debug("checkpoint %s not written: %s", path, strerror(-err));
		return;
	}
	uint64_t samples = profile__samples(a->profile);
	for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++) {
		if (!(a->settings.formats & formats[i].format))
			continue;
		if (formats[i].format == FS_FORMAT_GIL && !gilview__on()) {
			fs_warn("FIL_PERF_SPY_OUTPUT=gil: the %s backend does not tell GIL states; "
				"no GIL view written (the self backend has it)",
				a->backend ? a->backend->name : "chosen");
			continue;
		}
		path_for(a, formats[i].suffix, path, sizeof(path));
		int err = write_atomically(a, path, formats[i].writer);
		if (err)
			fs_error("cannot write %s: %s", path, strerror(-err));
		else if (formats[i].format == FS_FORMAT_GIL) {
			fs_info("wrote %s (the GIL view, %.1f s)", path, a->sampled_s);
			gilview__summary(path);
		} else
			fs_info("wrote %s (%llu samples in %.1f s)", path,
				(unsigned long long)samples, a->sampled_s);
	}
}

void outputs__remove_checkpoint(fs_agent *a)
{
	char path[4200];
	path_for(a, CHECKPOINT_SUFFIX, path, sizeof(path));
	unlink(path);
}
