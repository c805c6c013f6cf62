/* Reading a few kinds of Python objects from raw memory: dict items, instance
 * attributes of Python classes, small ints. What thread names need, no more. */
#ifndef FILSPY_PYOBJECTS_H
#define FILSPY_PYOBJECTS_H

#include <stdbool.h>
#include <stdint.h>

#include "filspy/pyruntime.h"

/* True when this version's offsets have all these readers need. */
bool pyobjects__readable(const py_runtime *rt);

/* The value of the str key name in the dict at dict, 0 when absent or unreadable. */
uintptr_t pyobjects__dict_get(const py_runtime *rt, uintptr_t dict, const char *name);

/* Calls fn(key, value, arg) for each item of the dict at dict, at most max items,
 * until fn returns false. Returns -1 when the dict cannot be read. */
int pyobjects__dict_each(const py_runtime *rt, uintptr_t dict, int max,
			 bool (*fn)(uintptr_t key, uintptr_t value, void *arg), void *arg);

/* The attribute name of obj, an instance of a Python class, from its instance
 * values or dict (no descriptors, no class attributes); 0 when absent. */
uintptr_t pyobjects__attr(const py_runtime *rt, uintptr_t obj, const char *name);

/* Reads an int object that fits 64 bits and is not negative. Returns 0 or -1. */
int pyobjects__ulong(const py_runtime *rt, uintptr_t obj, uint64_t *out);

#endif
