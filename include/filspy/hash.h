/* FNV-1a over strings: stack and symbol keys (not a defence against chosen input;
 * tables that use it compare the keys on a hit). And a full mix of a 64-bit word,
 * for tables keyed by addresses. */
#ifndef FILSPY_HASH_H
#define FILSPY_HASH_H

#include <stdint.h>

#define HASH_FNV_OFFSET 0xcbf29ce484222325ULL
#define HASH_FNV_PRIME 0x100000001b3ULL

/* h continued over the bytes of s (start with HASH_FNV_OFFSET). */
static inline uint64_t hash__string(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * HASH_FNV_PRIME;
	return h;
}

/* hash__string, then a separator, so that fields hashed in a row cannot run into
 * each other ("ab","c" differs from "a","bc"). */
static inline uint64_t hash__field(uint64_t h, const char *s)
{
	return (hash__string(h, s) ^ 0xff) * HASH_FNV_PRIME;
}

/* MurmurHash3's finalizer: every bit of x moves every bit of the result, so a
 * table keyed by addresses can take its slot from any of its bits. A multiply
 * alone, (x * 0x9e37...) >> (64 - bits), maps addresses a fixed distance apart to
 * one slot whenever that distance times the golden ratio is near a whole number,
 * and an allocator lays out objects of one size at such distances (CPython 3.6's
 * frame objects in chains.py, 0x55840 bytes apart, shared slots of the frame
 * links table in pairs). */
static inline uint64_t hash__mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif
