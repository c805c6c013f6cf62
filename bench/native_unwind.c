/* Benchmark: the CPU one native sample costs libfilspy-native.so (unwind a ~20-frame stack copy, name every pc); target <= 30 us. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "filspy/native_api.h"
#include "../tests/helpers/stack_capture.h"

#ifndef NATIVE_LIB
#define NATIVE_LIB "build/libfilspy-native.so"
#endif

#define DEPTH 18  /* + capture_stack and main's callers: about 20 frames */
#define REPEATS 10000

static struct stack_capture capture;
static uint64_t stack_top;

/* one function per level would be closer to a real stack, but the unwinder's
 * cost is per frame (one CFI lookup each), whichever function it is in */
__attribute__((noinline)) static int descend(int depth)
{
	if (depth == 0) {
		capture_stack(&capture, stack_top);
		return 0;
	}
	int r = descend(depth - 1);
	__asm__ volatile("" : "+r"(r));
	return r + 1;
}

static double thread_cpu_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(void)
{
	void *lib = dlopen(NATIVE_LIB, RTLD_NOW | RTLD_LOCAL);
	const fsnative_interface_t *api = lib ? dlsym(lib, FSNATIVE_INTERFACE_SYMBOL) : NULL;
	if (!api) {
		fprintf(stderr, "native_unwind: %s\n", dlerror());
		return 1;
	}
	char why[256];
	double t0 = thread_cpu_us();
	fsnative_session *s = api->open(getpid(), why, sizeof(why));
	if (!s) {
		fprintf(stderr, "native_unwind: open: %s\n", why);
		return 1;
	}
	double t_open = thread_cpu_us() - t0;
	int marker;
	stack_top = capture_stack_top((uint64_t)(uintptr_t)&marker);
	descend(DEPTH);

	uint64_t pcs[128];
	fsnative_symbol sym;
	t0 = thread_cpu_us();
	int n = api->unwind(s, gettid(), capture.regs, capture.stack, capture.len, capture.sp, pcs, 128);
	for (int i = 0; i < n; i++)
		api->symbolize(s, pcs[i], &sym);
	double t_first = thread_cpu_us() - t0;

	double t_unwind = 0, t_names = 0;
	for (int r = 0; r < REPEATS; r++) {
		t0 = thread_cpu_us();
		int m = api->unwind(s, gettid(), capture.regs, capture.stack, capture.len, capture.sp,
				    pcs, 128);
		double t1 = thread_cpu_us();
		for (int i = 0; i < m; i++)
			api->symbolize(s, pcs[i], &sym);
		t_names += thread_cpu_us() - t1;
		t_unwind += t1 - t0;
		if (m != n) {
			fprintf(stderr, "native_unwind: %d frames, then %d\n", n, m);
			return 1;
		}
	}
	double per = (t_unwind + t_names) / REPEATS;
	printf("native_unwind: open %.0f us; first sample (cold: CFI and symbol tables read) %.0f us\n",
	       t_open, t_first);
	printf("native_unwind: %d frames, %d repeats: %.2f us per sample (unwind %.2f, symbolize "
	       "%.2f), %.3f us per frame; target <= 30 us per sample: %s\n",
	       n, REPEATS, per, t_unwind / REPEATS, t_names / REPEATS, per / n,
	       per <= 30 ? "met" : "NOT met");
	api->close(s);
	return 0;
}
