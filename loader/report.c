/* `filspy report IN -f FORMAT -o OUT`: converts a raw (folded) profile, ours or
 * py-spy's, into any output format. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/folded.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "report.h"

#define EXIT_USAGE 2

typedef int (*writer_fn)(fs_profile *p, const fs_profile_meta *meta, FILE *f);

static int write_raw(fs_profile *p, const fs_profile_meta *meta, FILE *f)
{
	(void)meta;
	return out_raw__write(p, f);
}

static writer_fn writer_named(const char *format)
{
	if (!strcmp(format, "svg") || !strcmp(format, "flamegraph"))
		return out_svg__write;
	if (!strcmp(format, "raw"))
		return write_raw;
	if (!strcmp(format, "speedscope"))
		return out_speedscope__write;
	if (!strcmp(format, "pprof"))
		return out_pprof__write;
	return NULL;
}

int report__load(const char *path, fs_profile **out)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		fs_error("cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	fs_profile *p = profile__new(0);
	long bad = 0;
	int err = p ? folded__read(p, f, &bad) : -ENOMEM;
	if (f != stdin)
		fclose(f);
	if (err == -EINVAL)
		fs_error("%s:%ld: not a folded-stack line (\"frame;frame COUNT\")", path, bad);
	else if (err)
		fs_error("cannot read %s: %s", path, strerror(-err));
	if (err) {
		profile__free(p);
		return err;
	}
	*out = p;
	return 0;
}

int report__write_file(const char *path, writer_fn_any writer, void *ctx)
{
	if (!strcmp(path, "-"))
		return writer(ctx, stdout);
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "we");
	if (!f) {
		fs_error("cannot write %s: %s", path, strerror(errno));
		return -errno;
	}
	int err = writer(ctx, f);
	if (fclose(f) != 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		fs_error("cannot write %s: %s", path, strerror(-err));
	}
	return err;
}

struct convert {
	fs_profile *p;
	writer_fn writer;
	fs_profile_meta meta;
};

static int convert_into(void *ctx, FILE *f)
{
	struct convert *c = ctx;
	return c->writer(c->p, &c->meta, f);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: filspy report IN -f svg|raw|speedscope|pprof -o OUT [--title T] [--rate HZ]\n"
		   "  IN: a raw profile (folded stacks, ours or py-spy's), - for stdin\n"
		   "  OUT: the file to write, - for stdout\n");
}

int report__main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL, *format = NULL;
	struct convert c = { .meta = { .title = NULL, .backend = NULL, .rate_hz = 100 } };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if ((!strcmp(a, "-f") || !strcmp(a, "--format")) && v) {
			format = v;
			i++;
		} else if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && v) {
			out = v;
			i++;
		} else if (!strcmp(a, "--title") && v) {
			c.meta.title = v;
			i++;
		} else if (!strcmp(a, "--rate") && v) {
			c.meta.rate_hz = atoi(v) > 0 ? atoi(v) : 100;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fs_error("report: unknown option or missing value: %s", a);
			usage(stderr);
			return EXIT_USAGE;
		} else if (!in) {
			in = a;
		} else {
			fs_error("report: one input only (got %s and %s)", in, a);
			return EXIT_USAGE;
		}
	}
	if (!in || !out || !format) {
		usage(stderr);
		return EXIT_USAGE;
	}
	c.writer = writer_named(format);
	if (!c.writer) {
		fs_error("report: unknown format '%s' (svg, raw, speedscope, pprof)", format);
		return EXIT_USAGE;
	}
	if (!c.meta.title)
		c.meta.title = in;
	if (report__load(in, &c.p) < 0)
		return EXIT_USAGE;
	int err = report__write_file(out, convert_into, &c);
	profile__free(c.p);
	return err ? 1 : 0;
}
