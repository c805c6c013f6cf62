/* The raw-stack cache: a key per (frames, cut, salt), found again, bounded. */
#include <criterion/criterion.h>

#include "sampling/stackcache.h"

Test(stackcache, same_frames_same_key_any_difference_another)
{
	py_frame_ref f[3] = { { 0x1000, 10, 0 }, { 0x2000, 20, 0 }, { 0x3000, 30, 0 } };
	uint32_t checks[3] = { 1, 2, 3 };
	uint64_t k = stackcache__key(f, checks, 3, false, 0);
	cr_assert_eq(stackcache__key(f, checks, 3, false, 0), k);
	f[0].frame = 0x99; /* frame addresses are not part of a stack */
	cr_assert_eq(stackcache__key(f, checks, 3, false, 0), k);
	cr_assert_neq(stackcache__key(f, checks, 3, true, 0), k, "cut");
	cr_assert_neq(stackcache__key(f, checks, 3, false, 1), k, "salt");
	cr_assert_neq(stackcache__key(f, checks, 2, false, 0), k, "depth");
	cr_assert_neq(stackcache__key(f, NULL, 3, false, 0), k, "checks");
	f[1].instr = 22;
	cr_assert_neq(stackcache__key(f, checks, 3, false, 0), k, "instruction");
}

Test(stackcache, finds_what_was_put_and_starts_again_when_full)
{
	stack_cache *c = stackcache__new();
	cr_assert(c);
	cr_assert_eq(stackcache__find(c, 42), FS_ROOT_NODE);
	stackcache__put(c, 42, 7);
	cr_assert_eq(stackcache__find(c, 42), 7);
	stackcache__put(c, 42, 8);
	cr_assert_eq(stackcache__find(c, 42), 8);
	for (uint64_t key = 1000; key < 1000 + 200000; key++)
		stackcache__put(c, key * 0x9e3779b97f4a7c15ULL | 1, 3);
	size_t found = 0;
	for (uint64_t key = 1000; key < 1000 + 200000; key++)
		found += stackcache__find(c, key * 0x9e3779b97f4a7c15ULL | 1) == 3;
	cr_assert(found > 0 && found < 65536, "bounded: %zu", found);
	stackcache__free(c);
}
