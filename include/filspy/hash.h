/* FNV-1a over strings: stack and symbol keys (not a defence against chosen input;
 * tables that use it compare the keys on a hit). */
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

#endif
