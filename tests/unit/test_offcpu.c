/* The bpf backend's table of threads off their CPU, and how stop times become
 * samples. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "sampling/offcpu.h"

Test(offcpu, entries_survive_the_removal_of_their_neighbours)
{
	offcpu_table *t = offcpu__new(64);
	cr_assert_not_null(t);
	/* many tids, so that probe runs form and wrap around the table */
	for (int tid = 1; tid <= 64; tid++) {
		offcpu_stop *e = offcpu__prepare(t, tid * 128, tid % 7 + 1);
		cr_assert_not_null(e, "tid %d", tid * 128);
		e->since = (uint64_t)tid;
		e->frames[0].code = (uintptr_t)tid;
	}
	cr_assert_null(offcpu__prepare(t, 999999, 1), "the table holds at most 64 threads");
	for (int tid = 2; tid <= 64; tid += 2)
		offcpu__forget(t, tid * 128);
	offcpu__forget(t, 12345); /* not there: nothing happens */
	for (int tid = 1; tid <= 64; tid++) {
		offcpu_stop *e = offcpu__find(t, tid * 128);
		if (tid % 2 == 0) {
			cr_assert_null(e, "tid %d was forgotten", tid * 128);
			continue;
		}
		cr_assert_not_null(e, "tid %d was lost", tid * 128);
		cr_assert_eq(e->since, (uint64_t)tid);
		cr_assert_eq(e->frames[0].code, (uintptr_t)tid);
	}
	int cursor = 0, seen = 0;
	while (offcpu__each(t, &cursor))
		seen++;
	cr_assert_eq(seen, 32);
	offcpu__free(t);
}

Test(offcpu, frames_grow_with_the_depth_asked)
{
	offcpu_table *t = offcpu__new(4);
	offcpu_stop *e = offcpu__prepare(t, 7, 3);
	e->frames[2].code = 42;
	e = offcpu__prepare(t, 7, 4000);
	cr_assert_geq(e->capacity, 4000);
	cr_assert_eq(e->frames[2].code, 42, "frames are kept when the buffer grows");
	e->checks[3999] = 1;
	offcpu__free(t);
}

Test(offcpu, short_stops_add_up_to_their_time)
{
	offcpu_table *t = offcpu__new(4);
	const uint64_t period = 10000000; /* 100 Hz */
	cr_assert_eq(offcpu__samples(t, 3 * period, period), 3);
	/* 10000 stops of 0.3 periods: 3000 samples on average, not 0 */
	uint64_t n = 0;
	for (int i = 0; i < 10000; i++)
		n += offcpu__samples(t, 3 * period / 10, period);
	cr_assert(n > 2800 && n < 3200, "%llu samples for 3000 periods", (unsigned long long)n);
	/* 2.5 periods: 2 or 3, 2.5 on average */
	n = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t k = offcpu__samples(t, 5 * period / 2, period);
		cr_assert(k == 2 || k == 3);
		n += k;
	}
	cr_assert(n > 2400 && n < 2600, "%llu", (unsigned long long)n);
	offcpu__free(t);
}
