/* The parts of `filspy attach` its two ways share: the wait, the files and their
 * names, and a session that reuses an agent already sampling the process (two
 * snapshots over its control socket, the second minus the first). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "filspy/control_protocol.h"
#include "filspy/folded.h"
#include "filspy/log.h"
#include "filspy/writers.h"
#include "live.h"
#include "report.h"
#include "session.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

void session__catch_signals(void)
{
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
}

int session__stopped(void)
{
	return stop_signal;
}

void session__wait_calling(const fs_settings *s, long pid, void (*every)(void *ctx), void *ctx)
{
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int naps = 1;; naps++) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double elapsed = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
		if (stop_signal || (s->duration_s > 0 && elapsed >= s->duration_s) ||
		    (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			return;
		struct timespec nap = { 0, 50000000 };
		nanosleep(&nap, NULL);
		if (every && naps % 10 == 0)
			every(ctx);
	}
}

void session__wait(const fs_settings *s, long pid)
{
	session__wait_calling(s, pid, NULL, NULL);
}

static void program_of(long pid, char *out, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	FILE *f = fopen(path, "re");
	if (!f || !fgets(out, (int)size, f))
		snprintf(out, size, "process");
	if (f)
		fclose(f);
	out[strcspn(out, "\n")] = 0;
	settings__sanitize_label(out);
}

int session__write(const fs_settings *s, long pid, fs_profile *p, double seconds,
		   const char *backend)
{
	char label[FS_LABEL_MAX + 32], program[64], title[128];
	program_of(pid, program, sizeof(program));
	if (s->label[0])
		snprintf(label, sizeof(label), "%s", s->label);
	else
		snprintf(label, sizeof(label), "%s-%ld", program, pid);
	snprintf(title, sizeof(title), "%s (pid %ld, attached)", program, pid);
	fs_profile_meta meta = { .title = title, .backend = backend, .rate_hz = s->rate_hz,
				 .duration_s = seconds, .pid = (int)pid };
	int status = 0;
	bool to_file = s->file[0]; /* -o FILE: the first format goes there */
	uint64_t n = profile__samples(p);
	/* neither py-spy's samples nor snapshots tell GIL states: gil (no writer) is skipped */
	for (const fs_format_info *fmt = formats__table; fmt->name; fmt++) {
		if (!(s->formats & fmt->flag) || !fmt->write)
			continue;
		char path[PATH_MAX + FS_LABEL_MAX + 64];
		if (to_file)
			snprintf(path, sizeof(path), "%s", s->file);
		else
			snprintf(path, sizeof(path), "%s/%s%s", s->output_dir, label, fmt->suffix);
		to_file = false;
		fs_format_job job = { fmt, p, &meta };
		if (report__write_file(path, formats__write_job, &job) < 0)
			status = 1;
		else if (!s->quiet)
			fs_info("wrote %s (%llu sample%s)", path, (unsigned long long)n, n == 1 ? "" : "s");
	}
	return status;
}

static bool newer(const char *path, const struct timespec *since)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mtim.tv_sec > since->tv_sec ||
					(st.st_mtim.tv_sec == since->tv_sec &&
					 st.st_mtim.tv_nsec >= since->tv_nsec));
}

int session__name_files(const fs_settings *s, const char *dir, const char *label,
			const struct timespec *since)
{
	int named = 0;
	bool to_file = s->file[0];
	for (const fs_format_info *fmt = formats__table; fmt->name; fmt++) {
		if (!(s->formats & fmt->flag))
			continue;
		char path[PATH_MAX + FS_LABEL_MAX + 64];
		if (to_file)
			snprintf(path, sizeof(path), "%s", s->file);
		else
			snprintf(path, sizeof(path), "%s/%s%s", dir, label, fmt->suffix);
		to_file = false;
		if (newer(path, since)) {
			named++;
			if (!s->quiet)
				fs_info("wrote %s", path);
		}
	}
	return named;
}

struct stack {
	char *text;
	unsigned long long count;
};

static int by_text(const void *a, const void *b)
{
	return strcmp(((const struct stack *)a)->text, ((const struct stack *)b)->text);
}

/* The lines of a folded text ("stack COUNT"), cut in place, sorted by stack. */
static size_t stacks_of(char *text, struct stack **out)
{
	size_t n = 0, cap = 1024;
	struct stack *v = malloc(cap * sizeof(*v));
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && v;
	     l = strtok_r(NULL, "\n", &save)) {
		char *space = strrchr(l, ' ');
		if (!space)
			continue;
		*space = 0;
		if (n == cap) {
			struct stack *g = realloc(v, 2 * cap * sizeof(*v));
			if (!g)
				break;
			v = g;
			cap *= 2;
		}
		v[n++] = (struct stack){ l, strtoull(space + 1, NULL, 10) };
	}
	if (v)
		qsort(v, n, sizeof(*v), by_text);
	*out = v;
	return v ? n : 0;
}

/* after minus before, as a profile; NULL when out of memory */
static fs_profile *difference(char *before, char *after)
{
	struct stack *b, *a;
	size_t nb = stacks_of(before, &b), na = stacks_of(after, &a);
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	for (size_t i = 0; mem && a && i < na; i++) {
		struct stack *was = b ? bsearch(&a[i], b, nb, sizeof(*b), by_text) : NULL;
		unsigned long long n = a[i].count;
		if (was)
			n = was->count >= n ? 0 : n - was->count;
		if (n)
			fprintf(mem, "%s %llu\n", a[i].text, n);
	}
	free(a);
	free(b);
	if (!mem)
		return NULL;
	fclose(mem);
	fs_profile *p = profile__new(0);
	FILE *f = fmemopen(text, len ? len : 1, "r");
	long bad;
	if (p && f && len)
		folded__read(p, f, &bad);
	if (f)
		fclose(f);
	free(text);
	return p;
}

int session__reuse(const fs_settings *s, long pid)
{
	char *info = live__ask(pid, CONTROL_INFO), backend[64] = "", via[96];
	for (char *l = info; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		sscanf(l, "backend %63s", backend);
	free(info);
	if (!s->quiet)
		fs_info("pid %ld already runs the filspy agent (%s backend): sampling through its "
			"control socket%s; Ctrl-C ends it", pid, backend,
			s->duration_s > 0 ? " for the duration asked" : "");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *before = live__ask(pid, CONTROL_SNAPSHOT);
	session__wait(s, pid);
	char *after = live__ask(pid, CONTROL_SNAPSHOT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!before || !after) {
		fs_error("pid %ld's agent stopped answering (the process ended?); no profile", pid);
		free(before);
		free(after);
		return 1;
	}
	fs_profile *p = difference(before, after);
	free(before);
	free(after);
	if (!p) {
		fs_error("out of memory");
		return 1;
	}
	int status = 0;
	if (!profile__samples(p)) {
		fs_error("no samples of pid %ld in the time attached (its agent samples nothing now: "
			 "a duration reached, or sampling stopped)", pid);
		status = 1;
	} else {
		snprintf(via, sizeof(via), "%s (attached through the socket)", backend);
		status = session__write(s, pid, p, (double)(t1.tv_sec - t0.tv_sec) +
					(double)(t1.tv_nsec - t0.tv_nsec) / 1e9, via);
	}
	profile__free(p);
	return status;
}
