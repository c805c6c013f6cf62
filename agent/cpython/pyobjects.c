/* Dicts, instance attributes and ints read from interpreter memory through memread,
 * laid out as the version's offsets say: a torn read gives "absent", never a fault. */
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"
#include "cpython/pyobjects.h"

#define MAX_ENTRIES (1 << 16)
#define CHUNK 128            /* entries copied per read */
#define KEY_MAX 64           /* longer keys never match the short names we look for */

static uintptr_t word(uintptr_t addr)
{
	uintptr_t v = 0;
	return memread__word(addr, &v) < 0 ? 0 : v;
}

static int byte(uintptr_t addr)
{
	uint8_t v;
	return memread__read(&v, addr, 1) < 0 ? -1 : v;
}

bool pyobjects__readable(const py_runtime *rt)
{
	const py_offsets *o = rt->off;
	return o->interp_modules != PY_NO_OFFSET && o->dict_keys != PY_NO_OFFSET &&
	       o->dictkeys_indices != PY_NO_OFFSET && o->long_digits != PY_NO_OFFSET &&
	       (o->dictkeys_size != PY_NO_OFFSET || o->dictkeys_log2_index_bytes != PY_NO_OFFSET);
}

struct layout {
	uintptr_t entries;
	long n;
	int size, key, value;  /* entry size, key and value offsets in an entry */
};

/* Where a keys object's entries are: after an index table whose width grows with
 * the table (<= 3.10: from dk_size), or whose size in bytes is stored (3.11+). */
static int layout_of(const py_runtime *rt, uintptr_t keys, struct layout *l)
{
	const py_offsets *o = rt->off;
	uintptr_t index_bytes;
	bool general = true;
	if (!keys)
		return -1;
	if (o->dictkeys_size != PY_NO_OFFSET) {
		uintptr_t size = word(keys + o->dictkeys_size);
		if (!size || size > (1u << 26))
			return -1;
		index_bytes = size * (size <= 0xff ? 1 : size <= 0xffff ? 2 : size <= 0xffffffffu ? 4 : 8);
	} else {
		int log2 = byte(keys + o->dictkeys_log2_index_bytes), kind = byte(keys + o->dictkeys_kind);
		if (log2 < 0 || log2 > 30 || kind < 0)
			return -1;
		index_bytes = (uintptr_t)1 << log2;
		general = kind == 0; /* unicode and split keys have {key, value} entries */
	}
	l->n = (long)word(keys + o->dictkeys_nentries);
	if (l->n < 0 || l->n > MAX_ENTRIES)
		return -1;
	l->entries = keys + o->dictkeys_indices + index_bytes;
	l->size = general ? 24 : 16;
	l->key = general ? 8 : 0;
	l->value = general ? 16 : 8;
	return 0;
}

/* Visits the items of keys (values: the split-table values array, or 0 when the
 * values are in the entries). */
static int each(const py_runtime *rt, uintptr_t keys, uintptr_t values, int max,
		bool (*fn)(uintptr_t, uintptr_t, void *), void *arg)
{
	struct layout l;
	unsigned char buf[CHUNK * 24];
	if (layout_of(rt, keys, &l) < 0)
		return -1;
	for (long first = 0, seen = 0; first < l.n && seen < max; first += CHUNK) {
		long n = l.n - first < CHUNK ? l.n - first : CHUNK;
		if (memread__read(buf, l.entries + (uintptr_t)(first * l.size), (size_t)(n * l.size)) < 0)
			return -1;
		for (long i = 0; i < n && seen < max; i++) {
			uintptr_t key, value;
			memcpy(&key, buf + i * l.size + l.key, sizeof(key));
			if (!key)
				continue; /* a deleted item */
			if (values)
				value = word(values + rt->off->dictvalues_values +
					     (uintptr_t)(first + i) * sizeof(uintptr_t));
			else
				memcpy(&value, buf + i * l.size + l.value, sizeof(value));
			if (!value)
				continue;
			seen++;
			if (!fn(key, value, arg))
				return 0;
		}
	}
	return 0;
}

struct find {
	const py_runtime *rt;
	const char *name;
	uintptr_t value;
};

static bool match(uintptr_t key, uintptr_t value, void *arg)
{
	struct find *f = arg;
	char text[KEY_MAX];
	if (pystring__read(f->rt, key, text, sizeof(text)) < 0 || strcmp(text, f->name))
		return true;
	f->value = value;
	return false;
}

static uintptr_t find(const py_runtime *rt, uintptr_t keys, uintptr_t values, const char *name)
{
	struct find f = { rt, name, 0 };
	each(rt, keys, values, MAX_ENTRIES, match, &f);
	return f.value;
}

int pyobjects__dict_each(const py_runtime *rt, uintptr_t dict, int max,
			 bool (*fn)(uintptr_t key, uintptr_t value, void *arg), void *arg)
{
	const py_offsets *o = rt->off;
	if (!dict)
		return -1;
	return each(rt, word(dict + o->dict_keys), word(dict + o->dict_values), max, fn, arg);
}

uintptr_t pyobjects__dict_get(const py_runtime *rt, uintptr_t dict, const char *name)
{
	const py_offsets *o = rt->off;
	if (!dict)
		return 0;
	return find(rt, word(dict + o->dict_keys), word(dict + o->dict_values), name);
}

uintptr_t pyobjects__attr(const py_runtime *rt, uintptr_t obj, const char *name)
{
	const py_offsets *o = rt->off;
	uintptr_t type = word(obj + o->object_type), v;
	if (!type)
		return 0;
	unsigned long flags = word(type + o->type_flags);
	/* 3.13: the values live inline, after the object, while `valid` says so */
	if (o->type_flag_inline_values != PY_NO_OFFSET && (flags & (unsigned long)o->type_flag_inline_values)) {
		uintptr_t inline_values = obj + word(type + o->type_basicsize);
		if (byte(inline_values + o->dictvalues_valid) > 0 &&
		    (v = find(rt, word(type + o->heaptype_cached_keys), inline_values, name)))
			return v;
	}
	if (o->type_flag_managed_dict != PY_NO_OFFSET && (flags & (unsigned long)o->type_flag_managed_dict)) {
		uintptr_t slot = word(obj + (uintptr_t)(intptr_t)o->object_managed_dict);
		uintptr_t cached = word(type + o->heaptype_cached_keys);
		if (rt->managed_dict == PY_MANAGED_VALUES_BEFORE) {
			/* the values pointer sits one word before the dict's */
			uintptr_t values = word(obj + (uintptr_t)(intptr_t)(o->object_managed_dict - 8));
			if (values)
				return find(rt, cached, values, name);
		} else if (rt->managed_dict == PY_MANAGED_VALUES_TAGGED && (slot & 1)) {
			/* tagged: values, not a dict */
			return find(rt, cached, slot + 1, name);
		}
		return pyobjects__dict_get(rt, slot, name);
	}
	intptr_t offset = (intptr_t)word(type + o->type_dictoffset);
	if (offset <= 0 || offset > 4096)
		return 0; /* no dict, or a variable-size object's: not a Thread */
	return pyobjects__dict_get(rt, word(obj + (uintptr_t)offset), name);
}

int pyobjects__ulong(const py_runtime *rt, uintptr_t obj, uint64_t *out)
{
	const py_offsets *o = rt->off;
	intptr_t tag = (intptr_t)word(obj + o->long_size);
	if (o->long_size_shift && (tag & 3) == 2)
		return -1; /* 3.12+: the sign lives in the low bits */
	long digits = (long)(tag >> o->long_size_shift);
	if (digits < 0 || digits > 3)
		return -1;
	uint32_t d[3] = { 0 };
	if (digits && memread__read(d, obj + o->long_digits, (size_t)digits * sizeof(d[0])) < 0)
		return -1;
	uint64_t v = 0;
	for (long i = digits - 1; i >= 0; i--)
		v = (v << o->long_digit_bits) | d[i];
	*out = v;
	return 0;
}
