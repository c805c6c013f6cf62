/* Local variables read from interpreter memory for `filspy dump --locals`: the
 * code object names the frame's slots, the few value types a user reads at a
 * glance are shown as Python's repr, the rest as type and address. And a frame's
 * first local as a str (pylocals__first_str): the module name of an import's
 * _find_and_load frame. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"
#include "cpython/pylocals.h"

#define CO_FAST_HIDDEN 0x10 /* 3.12+: a comprehension's inlined locals */
#define CO_FAST_FREE 0x80   /* the enclosing function's cell */

static uintptr_t word(uintptr_t addr)
{
	uintptr_t v = 0;
	return memread__word(addr, &v) < 0 ? 0 : v;
}

bool pylocals__readable(const py_runtime *rt)
{
	const py_offsets *o = rt->off;
	return o->frame_localsplus != PY_NO_OFFSET && o->code_nlocals != PY_NO_OFFSET &&
	       o->code_varnames != PY_NO_OFFSET && o->tuple_items != PY_NO_OFFSET &&
	       o->type_name != PY_NO_OFFSET && o->object_type != PY_NO_OFFSET;
}

static void type_name_of(const py_runtime *rt, uintptr_t v, char *out, size_t size)
{
	uintptr_t name = word(word(v + rt->off->object_type) + rt->off->type_name);
	out[0] = 0;
	/* a C string of unknown length: read shorter pieces near a page's end */
	for (size_t n = size - 1; name && n >= 8; n /= 2)
		if (memread__read(out, name, n) == 0) {
			out[n] = 0;
			break;
		}
	if (!out[0])
		snprintf(out, size, "object");
}

/* the int's value when it fits 63 bits and a sign */
static int small_int(const py_runtime *rt, uintptr_t v, long long *out)
{
	const py_offsets *o = rt->off;
	intptr_t tag = (intptr_t)word(v + o->long_size);
	bool negative;
	long digits;
	if (o->long_size_shift) { /* the sign lives in the tag's low bits */
		negative = (tag & 3) == 2;
		digits = (long)((uintptr_t)tag >> o->long_size_shift);
	} else {
		negative = tag < 0;
		digits = negative ? -(long)tag : (long)tag;
	}
	if (digits < 0 || digits > 2)
		return -1;
	uint32_t d[2] = { 0 };
	if (digits && memread__read(d, v + o->long_digits, (size_t)digits * sizeof(d[0])) < 0)
		return -1;
	long long m = digits == 2 ? ((long long)d[1] << o->long_digit_bits) | d[0] : d[0];
	*out = negative ? -m : m;
	return 0;
}

static void float_repr(double d, char *out, size_t size)
{
	if (isnan(d) || isinf(d)) {
		snprintf(out, size, "%s", isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
		return;
	}
	for (int prec = 1; prec <= 17; prec++) { /* the shortest that reads back */
		snprintf(out, size, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			break;
	}
	if (!strpbrk(out, ".e"))
		strncat(out, ".0", size - strlen(out) - 1);
}

/* 'text' with Python's escapes, cut to fit */
static void quoted(const char *prefix, const unsigned char *s, size_t n, bool cut, char *out,
		   size_t size)
{
	/* Python's choice: double quotes when the text has a ' and no " */
	char q = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
	size_t at = (size_t)snprintf(out, size, "%s%c", prefix, q);
	for (size_t i = 0; i < n && at + 8 < size; i++) {
		unsigned char c = s[i];
		if (c == (unsigned char)q || c == '\\')
			at += (size_t)snprintf(out + at, size - at, "\\%c", c);
		else if (c == '\n')
			at += (size_t)snprintf(out + at, size - at, "\\n");
		else if (c < 0x20 || c == 0x7f || (*prefix && c >= 0x80))
			at += (size_t)snprintf(out + at, size - at, "\\x%02x", c);
		else
			out[at++] = (char)c;
	}
	snprintf(out + at, size - at, "%c%s", q, cut ? "..." : "");
}

static void value_repr(const py_runtime *rt, uintptr_t v, char *out, size_t size)
{
	const py_offsets *o = rt->off;
	char type[48], text[PYLOCALS_REPR];
	long long n;
	double d;
	type_name_of(rt, v, type, sizeof(type));
	if (!strcmp(type, "NoneType")) {
		snprintf(out, size, "None");
	} else if (!strcmp(type, "bool") && small_int(rt, v, &n) == 0) {
		snprintf(out, size, "%s", n ? "True" : "False");
	} else if (!strcmp(type, "int") && small_int(rt, v, &n) == 0) {
		snprintf(out, size, "%lld", n);
	} else if (!strcmp(type, "float") && o->float_value != PY_NO_OFFSET &&
		   memread__read(&d, v + o->float_value, sizeof(d)) == 0) {
		float_repr(d, out, size);
	} else if (!strcmp(type, "str") && pystring__read(rt, v, text, sizeof(text) / 2) >= 0) {
		size_t len = strlen(text);
		quoted("", (const unsigned char *)text, len, len + 1 >= sizeof(text) / 2, out, size);
	} else if (!strcmp(type, "bytes")) {
		uint8_t *buf;
		intptr_t len = (intptr_t)word(v + o->bytes_size);
		long got = pybytes__read(rt, v, &buf, 32);
		if (got >= 0)
			quoted("b", buf, (size_t)got, len > got, out, size);
		else
			snprintf(out, size, "<bytes at 0x%lx>", (unsigned long)v);
		free(buf);
	} else {
		snprintf(out, size, "<%s at 0x%lx>", type, (unsigned long)v);
	}
}

void pylocals__print(const py_runtime *rt, const py_frame_ref *fr, FILE *f)
{
	const py_offsets *o = rt->off;
	if (!fr->frame || !pylocals__readable(rt))
		return;
	int n = 0, args = 0;
	memread__read(&n, fr->code + o->code_nlocals, sizeof(n));
	memread__read(&args, fr->code + o->code_argcount, sizeof(args));
	uintptr_t names = word(fr->code + o->code_varnames);
	if (n <= 0 || !names)
		return;
	if (n > PYLOCALS_MAX)
		n = PYLOCALS_MAX;
	uint8_t *kinds = NULL;
	if (o->code_localspluskinds != PY_NO_OFFSET &&
	    pybytes__read(rt, word(fr->code + o->code_localspluskinds), &kinds, (size_t)n) < n) {
		free(kinds);
		return;
	}
	uintptr_t slots[PYLOCALS_MAX];
	if (memread__read(slots, fr->frame + o->frame_localsplus, (size_t)n * sizeof(*slots)) < 0) {
		free(kinds);
		return;
	}
	const char *section = NULL;
	for (int i = 0; i < n; i++) {
		if (!slots[i] || (kinds && (kinds[i] & (CO_FAST_FREE | CO_FAST_HIDDEN))))
			continue; /* unbound yet, or not this frame's own */
		char name[64], value[PYLOCALS_REPR + 16];
		if (pystring__read(rt, word(names + o->tuple_items + (uintptr_t)i * sizeof(void *)),
				   name, sizeof(name)) < 0)
			continue;
		const char *now = i < args ? "Arguments:" : "Locals:";
		if (now != section)
			fprintf(f, "        %s\n", now);
		section = now;
		value_repr(rt, slots[i], value, sizeof(value));
		fprintf(f, "            %s: %s\n", name, value);
	}
	free(kinds);
}

/* Py_TPFLAGS_UNICODE_SUBCLASS, the same bit in every 3.x */
#define TPFLAGS_UNICODE (1UL << 28)

int pylocals__first_str(const py_runtime *rt, const py_frame_ref *f, char *out, size_t size)
{
	const py_offsets *o = rt->off;
	uintptr_t obj = 0, type = 0, flags = 0;
	if (size)
		out[0] = 0;
	if (!f->frame || o->frame_localsplus == PY_NO_OFFSET || o->type_flags == PY_NO_OFFSET ||
	    o->object_type == PY_NO_OFFSET)
		return -ENOTSUP;
	/* 3.14: locals are _PyStackRefs, tagged like f_executable */
	uintptr_t code = 0;
	if (memread__word(f->frame + (uintptr_t)o->frame_localsplus, &obj) < 0 ||
	    memread__word(f->frame + (uintptr_t)o->frame_code, &code) < 0)
		return -EFAULT;
	/* read after the local: a frame that returned since the walk and whose memory
	 * runs another function now is not the one sampled */
	if ((code & rt->code_tag_mask) != f->code)
		return -ESTALE;
	obj &= rt->code_tag_mask;
	if (!obj || memread__word(obj + (uintptr_t)o->object_type, &type) < 0 || !type ||
	    memread__word(type + (uintptr_t)o->type_flags, &flags) < 0)
		return -EFAULT;
	if (!(flags & TPFLAGS_UNICODE))
		return -EINVAL;
	return pystring__read(rt, obj, out, size);
}
