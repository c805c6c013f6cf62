/* The frame links of the self backend before 3.11 (agent/cpython/framecopies.c):
 * what a walk learned is known again, for as many frames as programs have. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "cpython/framecopies.h"

static struct py_walk *links_only(void)
{
	struct py_walk *w = calloc(1, sizeof(*w));
	w->links = calloc(LINKS, sizeof(*w->links));
	w->seen = calloc(SEEN_BITS / 64, sizeof(*w->seen));
	return w;
}

static void links_free(struct py_walk *w)
{
	free(w->links);
	free(w->seen);
	free(w);
}

/* chains.py on pyenv 3.6: 800 frame objects of one size class, among them pairs
 * 0x55840 bytes apart, which a Fibonacci hash put in one slot */
Test(framecopies, frames_of_one_size_class_are_all_known_again)
{
	struct py_walk *w = links_only();
	int n = 0, known = 0, stable = 0;
	for (uintptr_t f = 0x7f88a2b80050; n < 800; f += 0x1f0, n++)
		framecopies__learn(w, f, f + 0x55840);
	for (int round = 0; round < 3; round++) /* walks come again, in any order */
		for (uintptr_t f = 0x7f88a2b80050 + 799 * 0x1f0; f >= 0x7f88a2b80050; f -= 0x1f0)
			framecopies__learn(w, f, f + 0x55840);
	n = 0;
	for (uintptr_t f = 0x7f88a2b80050; n < 800; f += 0x1f0, n++) {
		known += framecopies__known(w, f);
		struct link *l = framecopies__link_of(w, f);
		cr_assert(!l || l->previous == f + 0x55840);
		stable += l && l->stable;
	}
	/* a set of LINK_WAYS holds 800 frames in 1024 sets but for a few */
	cr_assert_geq(known, 790, "%d of 800 known", known);
	cr_assert_geq(stable, 790, "%d of 800 stable", stable);
	cr_assert(!framecopies__known(w, 0));
	cr_assert(!framecopies__known(w, 0x1234560));
	links_free(w);
}

Test(framecopies, a_link_is_stable_when_it_held_and_forgotten_when_its_set_fills)
{
	struct py_walk *w = links_only();
	framecopies__learn(w, 0x1000, 0x2000);
	cr_assert(!framecopies__link_of(w, 0x1000)->stable);
	framecopies__learn(w, 0x1000, 0x2000);
	cr_assert(framecopies__link_of(w, 0x1000)->stable);
	framecopies__learn(w, 0x1000, 0x3000);
	cr_assert(!framecopies__link_of(w, 0x1000)->stable, "its caller changed");
	/* LINK_WAYS more frames of the same set push out the one learned longest ago */
	struct link *set = framecopies__link_set(w, 0x1000);
	int more = 0;
	for (uintptr_t f = 0x1010; more < (int)LINK_WAYS; f += 0x10)
		if (framecopies__link_set(w, f) == set) {
			framecopies__learn(w, f, 0);
			more++;
			cr_assert_eq(framecopies__known(w, 0x1000), more < (int)LINK_WAYS);
		}
	links_free(w);
}
