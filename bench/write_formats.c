/* Benchmark: writing every format for a large profile (100k distinct stacks,
 * 1M samples, taken one at a time by 4 threads so that speedscope's time order is
 * full: TIMELINE_MAX_ENTRIES kept, the rest aggregated) must take under a second.
 * Prints one line per format and the sum. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "filspy/profile.h"
#include "filspy/writers.h"

#define STACKS 100000
#define SAMPLES 1000000
#define DEPTH 20
#define FUNCTIONS 2000

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
	fs_profile *p = profile__new(0);
	if (!p || profile__keep_timeline(p, 0) < 0)
		return 1;
	fs_frame_id frames[FUNCTIONS];
	char name[64], file[64];
	for (int i = 0; i < FUNCTIONS; i++) {
		snprintf(name, sizeof(name), "module%d.function_%d", i % 50, i);
		snprintf(file, sizeof(file), "package/module%d.py", i % 50);
		frames[i] = profile__intern_frame(p, (uint64_t)i + 1, 10 + i % 300, name, file,
						  (uint8_t)(i % 3));
	}
	/* deterministic pseudo-random stacks that share prefixes like real ones do */
	fs_frame_id stack[DEPTH];
	for (int round = 0; round < SAMPLES / STACKS; round++) {
		uint64_t seed = 12345;
		for (int s = 0; s < STACKS; s++) {
			for (int d = 0; d < DEPTH; d++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				/* a shared trunk, then branches: about 6 new nodes per stack */
				stack[d] = frames[d < 14 ? d : (int)((seed >> 33) % FUNCTIONS)];
			}
			profile__add_thread_stack(p, 100 + s % 4, "worker", stack, DEPTH, 1);
		}
	}
	fs_profile_meta meta = { .title = "bench", .backend = "self", .rate_hz = 100, .duration_s = 10000 };
	double sum = 0;
	printf("writing %d distinct stacks, %llu samples, %zu tree nodes:\n", STACKS,
	       (unsigned long long)profile__samples(p), profile__node_count(p));
	for (const fs_format_info *fmt = formats__table; fmt->name; fmt++) {
		if (!fmt->write)
			continue; /* gil: the agent's GIL view, not a profile */
		FILE *f = fopen("/dev/null", "w");
		double t0 = now();
		int err = fmt->write(p, &meta, f);
		double t = now() - t0;
		fclose(f);
		sum += t;
		printf("  %-10s %7.3f s%s\n", fmt->name, t, err ? "  (error)" : "");
	}
	printf("  %-10s %7.3f s   target <= 1.000 s: %s\n", "all", sum, sum <= 1.0 ? "ok" : "OVER");
	profile__free(p);
	return 0;
}
