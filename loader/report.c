/* `filspy report IN -f FORMAT -o OUT`: converts a raw (folded) profile, ours or
 * py-spy's, into any output format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/folded.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "options.h"
#include "report.h"

#define EXIT_USAGE 2

/* "f (a.py:12)" -> "f (a.py)" for each frame of a folded line, in place */
static void drop_line_numbers(char *line)
{
	char *space = strrchr(line, ' '), *out = line, *p = line;
	if (!space)
		return;
	while (p < space) {
		char *end = p;
		while (end < space && *end != ';')
			end++;
		size_t n = (size_t)(end - p), keep = n;
		if (n > 3 && p[n - 1] == ')') {
			size_t d = n - 1;
			while (d > 0 && p[d - 1] >= '0' && p[d - 1] <= '9')
				d--;
			if (d < n - 1 && d > 1 && p[d - 1] == ':')
				keep = d - 1;
		}
		memmove(out, p, keep);
		out += keep;
		if (keep != n)
			*out++ = ')';
		if (end < space)
			*out++ = ';';
		p = end + (end < space);
	}
	memmove(out, space, strlen(space) + 1);
}

static FILE *without_line_numbers(FILE *f, char **buf)
{
	size_t len = 0;
	FILE *mem = open_memstream(buf, &len);
	char *line = NULL;
	size_t cap = 0;
	while (mem && getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = 0;
		drop_line_numbers(line);
		fprintf(mem, "%s\n", line);
	}
	free(line);
	if (!mem)
		return NULL;
	fclose(mem);
	return fmemopen(*buf, len ? len : 1, "r");
}

int report__load_by(const char *path, bool lines, fs_profile **out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		fs_error("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	char *buf = NULL;
	FILE *in = lines ? f : without_line_numbers(f, &buf);
	fs_profile *p = profile__new(0);
	long bad = 0;
	int err = p && in ? folded__read(p, in, &bad) : -ENOMEM;
	if (in && in != f)
		fclose(in);
	free(buf);
	if (f != stdin)
		fclose(f);
	if (err == -EINVAL)
		fs_error("%s:%ld: not a folded-stack line (\"frame;frame COUNT\")", path, bad);
	else if (err)
		fs_error("cannot read %s: %s", path, strerror(-err));
	if (!err && !profile__samples(p)) {
		fs_error("%s: no samples in it (an empty raw profile)", path);
		err = -ENODATA;
	}
	if (err) {
		profile__free(p);
		return err;
	}
	*out = p;
	return 0;
}

int report__load(const char *path, fs_profile **out)
{
	return report__load_by(path, true, out);
}

int report__write_file(const char *path, fs_file_writer writer, void *ctx)
{
	if (!strcmp(path, "-"))
		return writer(ctx, stdout);
	int err = atomic_file__write(path, writer, ctx);
	if (err)
		fs_error("cannot write %s: %s", path, strerror(-err));
	return err;
}

int report__main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *format = NULL;
	fs_profile_meta meta = { .title = NULL, .backend = NULL, .rate_hz = 100 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && v) {
			format = v;
			i++;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
			out = v;
			i++;
		} else if (!strcmp(a, "--title") && v) {
			meta.title = v;
			i++;
		} else if (!strcmp(a, "--rate") && v) {
			meta.rate_hz = atoi(v) > 0 ? atoi(v) : 100;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fs_error("%s: unknown option or missing value: %s", argv[0], a);
			return EXIT_USAGE;
		} else if (!in) {
			in = a;
		} else {
			fs_error("report: one input only (got %s and %s)", in, a);
			return EXIT_USAGE;
		}
	}
	/* convert, or report without -f: the format OUT's extension names */
	const fs_format_info *by_ext = out ? options__format_of_file(out) : NULL;
	if (!format && by_ext)
		format = by_ext->name;
	if (!in || !out || !format) {
		fs_error("%s: name %s (see filspy %s --help)", argv[0],
			 !in ? "the raw profile IN" : !out ? "the output with -o OUT"
			 : "the format with -f FORMAT, or an OUT whose extension names one", argv[0]);
		return EXIT_USAGE;
	}
	fs_format_job job = { formats__named(format), NULL, &meta };
	if (!job.format || !job.format->write) { /* gil: only the agent has a GIL view */
		char names[128];
		fs_error("report: unknown format '%s' (%s)", format,
			 formats__names(names, sizeof(names), ", ", true));
		return EXIT_USAGE;
	}
	if (!meta.title)
		meta.title = in;
	if (report__load(in, &job.p) < 0)
		return EXIT_USAGE;
	int err = report__write_file(out, formats__write_job, &job);
	profile__free(job.p);
	return err ? 1 : 0;
}
