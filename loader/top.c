/* `filspy top [--pid] PID`: a live table of the functions sampled most, own and
 * total share per interval, from the agent's snapshots over its control socket;
 * a process without the agent gets one in top mode (loader/top_inject.c). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "filspy/control_protocol.h"
#include "filspy/folded.h"
#include "filspy/log.h"
#include "live.h"
#include "top.h"
#include "top_inject.h"

#define EXIT_USAGE 2

struct fn {
	char name[256];
	unsigned long long own, total;
};

static int by_own(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	return (x->own < y->own) - (x->own > y->own);
}

static int by_total(const void *a, const void *b)
{
	const struct fn *x = a, *y = b;
	return (x->total < y->total) - (x->total > y->total);
}

/* Per-function own (leaf) and total (on the stack) samples of a folded text;
 * counts of prev are subtracted so the table shows the last interval. */
static size_t tally(const char *folded, struct fn **out, unsigned long long *samples)
{
	size_t n = 0, cap = 256;
	struct fn *fns = calloc(cap, sizeof(*fns));
	*samples = 0;
	char *copy = strdup(folded), *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line && fns; line = strtok_r(NULL, "\n", &save)) {
		char *space = strrchr(line, ' ');
		if (!space)
			continue;
		unsigned long long count = strtoull(space + 1, NULL, 10);
		*space = 0;
		*samples += count;
		char *s2 = NULL, *frames[4096];
		static size_t index_at[4096]; /* which function each depth is */
		size_t depth = 0;
		for (char *fr = strtok_r(line, ";", &s2); fr && depth < 4096; fr = strtok_r(NULL, ";", &s2))
			frames[depth++] = fr;
		for (size_t d = 0; d < depth; d++) {
			char *name, *file;
			int lineno;
			folded__split_frame(frames[d], &name, &file, &lineno);
			char key[256];
			snprintf(key, sizeof(key), "%s%s%s%s", name, *file ? " (" : "", file, *file ? ")" : "");
			size_t i;
			for (i = 0; i < n && strcmp(fns[i].name, key); i++)
				;
			if (i == n) {
				if (n == cap) {
					struct fn *g = realloc(fns, cap * 2 * sizeof(*fns));
					if (!g)
						break;
					fns = g;
					cap *= 2;
				}
				memset(&fns[n], 0, sizeof(fns[n]));
				snprintf(fns[n].name, sizeof(fns[n].name), "%s", key);
				n++;
			}
			/* a recursive function counts once per sample in its total */
			index_at[d] = i;
			bool seen = false;
			for (size_t e = 0; e < d && !seen; e++)
				seen = index_at[e] == i;
			if (!seen)
				fns[i].total += count;
			if (d == depth - 1)
				fns[i].own += count;
		}
	}
	free(copy);
	*out = fns;
	return fns ? n : 0;
}

static void subtract(struct fn *now, size_t n, const struct fn *before, size_t m)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < m; j++)
			if (!strcmp(now[i].name, before[j].name)) {
				now[i].own -= before[j].own < now[i].own ? before[j].own : now[i].own;
				now[i].total -= before[j].total < now[i].total ? before[j].total : now[i].total;
				break;
			}
}

/* The agent's counts for the header (its control socket's info): -1 when unknown. */
struct counts {
	long long samples, active, gil, threads;
};

static long long info_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, name, len) && l[len] == ' ')
			return strtoll(l + len + 1, NULL, 10);
	return -1;
}

static struct counts ask_counts(long pid)
{
	struct counts c = { -1, -1, -1, -1 };
	char *text = live__ask(pid, CONTROL_INFO);
	if (text) {
		c.samples = info_field(text, "samples");
		c.active = info_field(text, "active_samples");
		c.gil = info_field(text, "gil_samples");
		c.threads = info_field(text, "threads");
	}
	free(text);
	return c;
}

/* py-spy's header line: the interval's share of samples whose thread held the
 * GIL and whose thread ran on a CPU, and the Python threads. */
static void print_header(const struct counts *now, const struct counts *before)
{
	long long n = now->samples - before->samples;
	printf("GIL: ");
	if (now->gil >= 0 && before->gil >= 0 && n > 0)
		printf("%.2f%%", 100.0 * (double)(now->gil - before->gil) / (double)n);
	else
		printf("n/a");
	printf(", Active: ");
	if (now->active >= 0 && before->active >= 0 && n > 0)
		printf("%.2f%%", 100.0 * (double)(now->active - before->active) / (double)n);
	else
		printf("n/a");
	if (now->threads > 0)
		printf(", Threads: %lld", now->threads);
	printf("\n");
}

static volatile sig_atomic_t quit_requested;

static void on_quit(int sig)
{
	quit_requested = sig;
}
static struct termios saved_tty;
static bool tty_raw;

static void restore_tty(void)
{
	if (tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
}

int top__main(int argc, char **argv)
{
	long pid = live__parse_pid(argc, argv, "usage: filspy top [--pid] PID [--iterations N] "
				  "[--sort own|total] [--delay SECONDS]");
	if (pid < 0)
		return EXIT_USAGE;
	int iterations = -1, delay_ms = 1000;
	bool sort_total = false;
	for (int i = 1; i + 1 < argc; i++) { /* checked already (loader/options.c) */
		if (!strcmp(argv[i], "--iterations"))
			iterations = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--sort"))
			sort_total = !strcmp(argv[++i], "total");
		else if (!strcmp(argv[i], "--delay"))
			delay_ms = (int)(atof(argv[++i]) * 1000 + 0.5);
	}
	if (delay_ms < 10)
		delay_ms = 10;
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	if (tty && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios raw = saved_tty;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tty_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
		atexit(restore_tty);
	}
	struct fn *before = NULL;
	size_t n_before = 0;
	unsigned long long samples_before = 0;
	int status = 0;
	signal(SIGINT, on_quit);
	signal(SIGTERM, on_quit);
	bool injected = false;
	if (!live__answers(pid)) {
		int r = top_inject__agent(pid, delay_ms);
		if (r < 0)
			return 1;
		injected = r > 0;
	}
	/* the first table is the first interval's, not everything since the start */
	char *first = live__ask(pid, CONTROL_SNAPSHOT);
	struct counts counts_before = ask_counts(pid);
	if (first)
		n_before = tally(first, &before, &samples_before);
	free(first);
	for (int waited = 0; first && waited < delay_ms && !quit_requested; waited += 100) {
		struct timespec nap = { 0, 100000000 };
		nanosleep(&nap, NULL);
	}
	for (int round = 0; (iterations < 0 || round < iterations) && !quit_requested; round++) {
		char *text = live__ask(pid, CONTROL_SNAPSHOT);
		if (!text) {
			if (round == 0 && !first) {
				fs_error("process %ld runs no filspy agent with a control socket (%s); start it "
					 "with FIL_PERF_SPY_ENABLED=1 (FIL_PERF_SPY_MODE=top) or use py-spy top",
					 pid, strerror(errno));
				status = 1;
				break;
			}
			if (!quit_requested)
				fs_info("process %ld ended (or closed its control socket)", pid);
			break;
		}
		struct fn *now;
		unsigned long long samples;
		size_t n = tally(text, &now, &samples);
		free(text);
		struct counts counts_now = ask_counts(pid);
		struct fn *shown = malloc((n ? n : 1) * sizeof(*shown));
		if (shown && now)
			memcpy(shown, now, n * sizeof(*now));
		if (shown)
			subtract(shown, n, before, n_before);
		unsigned long long interval = samples - samples_before;
		qsort(shown, n, sizeof(*shown), sort_total ? by_total : by_own);
		int rows = 20;
		struct winsize ws;
		if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 8)
			rows = ws.ws_row - 6;
		if (tty)
			fputs("\033[H\033[2J", stdout);
		printf("filspy top: pid %ld, %llu samples in the last interval, %llu in all  "
		       "(sorted by %s; o/t sort, q quits)\n", pid, interval, samples,
		       sort_total ? "total" : "own");
		print_header(&counts_now, &counts_before);
		counts_before = counts_now;
		printf("\n  %%Own  %%Total  Function (file)\n");
		for (size_t i = 0; i < n && (int)i < rows && shown; i++) {
			if (!shown[i].own && !shown[i].total)
				continue;
			printf("%6.1f  %6.1f  %s\n", interval ? 100.0 * (double)shown[i].own / (double)interval : 0,
			       interval ? 100.0 * (double)shown[i].total / (double)interval : 0, shown[i].name);
		}
		fflush(stdout);
		free(shown);
		free(before);
		before = now;
		n_before = n;
		samples_before = samples;
		/* --delay between refreshes, reading keys meanwhile */
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		bool quit = iterations >= 0 && round + 1 >= iterations;
		for (int waited = 0; waited < delay_ms && !quit && !quit_requested; waited += 100) {
			if (tty_raw && poll(&p, 1, 100) > 0) {
				char key;
				if (read(STDIN_FILENO, &key, 1) == 1) {
					quit = key == 'q' || key == 'Q';
					if (key == 'o')
						sort_total = false;
					if (key == 't')
						sort_total = true;
				}
			} else if (!tty_raw) {
				struct timespec nap = { 0, 100000000 };
				nanosleep(&nap, NULL);
			}
		}
		if (quit)
			break;
	}
	free(before);
	if (injected) { /* end the session we started: top mode writes no file */
		free(live__ask(pid, CONTROL_FINISH));
		/* gone when the session is: the next top or attach starts a new one */
		for (int i = 0; i < 100 && live__answers(pid); i++) {
			struct timespec nap = { 0, 50000000 };
			nanosleep(&nap, NULL);
		}
	}
	return status;
}
