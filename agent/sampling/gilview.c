/* The GIL view: a second profile whose stacks start with the thread's state, and
 * per-thread counts of those states for the table and the summary line. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/log.h"
#include "sampling/gilview.h"

#define KEY_STATE_BASE 0xfffffffe00000000ULL
#define MAX_THREADS 2048        /* a power of two: open addressing on the tid */
#define TABLE_ROWS 40           /* the table shows the busiest threads first */
#define BUSY_SHARE 0.2          /* busy: not idle in at least this share of samples */
#define BUSY_MIN_SAMPLES 5

struct gil_thread {
	int tid;                /* 0: free slot */
	char name[64];
	uint64_t n[TS_COUNT];
};

/* one view per process: the sampler thread fills it, the same thread writes it */
static struct {
	fs_profile *profile;
	struct gil_thread *threads;
	int n_threads;
} view;

int gilview__start(fs_agent *a)
{
	if (view.profile)
		profile__free(view.profile);
	free(view.threads);
	view.profile = NULL;
	view.threads = NULL;
	view.n_threads = 0;
	if (!(a->settings.formats & FS_FORMAT_GIL) || a->settings.mode == FS_MODE_TOP)
		return 0;
	view.profile = profile__new(0);
	view.threads = calloc(MAX_THREADS, sizeof(*view.threads));
	if (!view.profile || !view.threads) {
		if (view.profile)
			profile__free(view.profile);
		free(view.threads);
		view.profile = NULL;
		view.threads = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool gilview__on(void)
{
	return view.profile != NULL;
}

/* The thread's row, NULL when the table is full (its samples still count in the
 * flamegraph). A tid the kernel reused counts for the thread first seen with it. */
static struct gil_thread *row(int tid, const char *name)
{
	unsigned h = (unsigned)tid * 2654435761u;
	for (int i = 0; i < MAX_THREADS; i++) {
		struct gil_thread *t = &view.threads[(h + (unsigned)i) & (MAX_THREADS - 1)];
		if (t->tid == tid) {
			/* the Python name replaces the kernel's once it can be read */
			if (name && strcmp(t->name, name))
				snprintf(t->name, sizeof(t->name), "%s", name);
			return t;
		}
		if (t->tid)
			continue;
		if (view.n_threads >= MAX_THREADS / 2)
			return NULL; /* keep probes short */
		t->tid = tid;
		snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
		view.n_threads++;
		return t;
	}
	return NULL;
}

void gilview__add(fs_agent *a, stack_builder *b, bool to_main, enum fs_thread_state s,
		  int tid, const char *name, const py_frame_ref *frames,
		  const uint32_t *checks, int depth, bool truncated, uint64_t weight)
{
	if (!view.profile || (unsigned)s >= TS_COUNT) {
		if (to_main)
			stacks__add_both(a, b, true, NULL, 0, NULL, tid, frames, checks, depth,
					 truncated, weight);
		return;
	}
	stacks__add_both(a, b, to_main, view.profile, KEY_STATE_BASE | (unsigned)s,
			 threadstate__label(s), tid, frames, checks, depth, truncated, weight);
	struct gil_thread *t = row(tid, name);
	if (t)
		t->n[s] += weight;
}

static uint64_t samples_of(const struct gil_thread *t)
{
	uint64_t n = 0;
	for (int s = 0; s < TS_COUNT; s++)
		n += t->n[s];
	return n;
}

static bool busy(const struct gil_thread *t)
{
	uint64_t n = samples_of(t);
	return n >= BUSY_MIN_SAMPLES && (double)(n - t->n[TS_IDLE]) >= BUSY_SHARE * (double)n;
}

static int by_samples(const void *x, const void *y)
{
	const struct gil_thread *a = *(const struct gil_thread *const *)x;
	const struct gil_thread *b = *(const struct gil_thread *const *)y;
	uint64_t na = samples_of(a) - a->n[TS_IDLE], nb = samples_of(b) - b->n[TS_IDLE];
	if (na != nb)
		return na < nb ? 1 : -1;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The table: one line per thread, busiest first, shares of its own samples. The
 * name comes last so that any name keeps the columns straight. */
static char *table_text(void)
{
	struct gil_thread **rows = calloc(view.n_threads ? (size_t)view.n_threads : 1, sizeof(*rows));
	char *text = NULL;
	size_t len = 0;
	FILE *m = rows ? open_memstream(&text, &len) : NULL;
	if (!m) {
		free(rows);
		return NULL;
	}
	int n = 0;
	for (int i = 0; i < MAX_THREADS; i++)
		if (view.threads[i].tid)
			rows[n++] = &view.threads[i];
	qsort(rows, (size_t)n, sizeof(*rows), by_samples);
	fprintf(m, "%8s %9s %9s %9s %9s %8s  %s\n", "thread", "holding", "waiting", "idle",
		"running", "samples", "name");
	fprintf(m, "%8s %9s %9s %9s %9s %8s  %s\n", "", "the GIL", "for GIL", "",
		"w/o GIL", "", "");
	for (int i = 0; i < n && i < TABLE_ROWS; i++) {
		const struct gil_thread *t = rows[i];
		uint64_t all = samples_of(t);
		fprintf(m, "%8d %7.1f %% %7.1f %% %7.1f %% %7.1f %% %8llu  %s\n", t->tid,
			pct(t->n[TS_HOLDING], all), pct(t->n[TS_WAITING], all),
			pct(t->n[TS_IDLE], all), pct(t->n[TS_RUNNING], all),
			(unsigned long long)all, t->name);
	}
	if (n > TABLE_ROWS)
		fprintf(m, "%8s ... and %d more threads\n", "", n - TABLE_ROWS);
	fclose(m);
	free(rows);
	return text;
}

int gilview__write(const fs_profile_meta *meta, FILE *f)
{
	if (!view.profile)
		return -ENODATA;
	fs_profile_meta m = meta ? *meta : (fs_profile_meta){ 0 };
	char title[600];
	snprintf(title, sizeof(title), "GIL view: %s", m.title ? m.title : "");
	m.title = title;
	char *table = table_text();
	m.notes = table;
	int err = out_svg__write(view.profile, &m, f);
	free(table);
	return err;
}

void gilview__summary(const char *path)
{
	uint64_t n[TS_COUNT] = { 0 }, all = 0;
	int busy_threads = 0;
	for (int i = 0; view.threads && i < MAX_THREADS; i++) {
		const struct gil_thread *t = &view.threads[i];
		if (!t->tid || !busy(t))
			continue;
		busy_threads++;
		for (int s = 0; s < TS_COUNT; s++)
			n[s] += t->n[s];
		all += samples_of(t);
	}
	if (busy_threads < 2)
		return;
	fs_info("GIL: %d busy threads held it %.0f %% of their samples, waited for it %.0f %%, "
		"ran without it %.0f %%, were idle %.0f %% (per thread: %s)", busy_threads,
		pct(n[TS_HOLDING], all), pct(n[TS_WAITING], all), pct(n[TS_RUNNING], all),
		pct(n[TS_IDLE], all), path);
}
