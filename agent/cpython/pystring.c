/* Copies str and bytes objects out of interpreter memory, as UTF-8 / raw bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

#define MAX_CHARS 1024

static size_t put_utf8(char *out, uint32_t c)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | (c >> 6));
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		if (c >= 0xd800 && c < 0xe000)
			c = 0xfffd; /* lone surrogate: not valid UTF-8 */
		out[0] = (char)(0xe0 | (c >> 12));
		out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	if (c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x10000)
		return put_utf8(out, c);
	out[0] = (char)(0xf0 | (c >> 18));
	out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

int pystring__read(const py_runtime *rt, uintptr_t str, char *out, size_t size)
{
	const py_offsets *o = rt->off;
	unsigned char head[128];
	if (size == 0)
		return -EINVAL;
	out[0] = 0;
	if ((size_t)o->unicode_compact_size > sizeof(head) ||
	    memread__read(head, str, (size_t)o->unicode_compact_size) < 0)
		return -EFAULT;
	intptr_t length;
	uint32_t state;
	memcpy(&length, head + o->unicode_length, sizeof(length));
	memcpy(&state, head + o->unicode_state, sizeof(state));
	if (length < 0 || !(state & o->unicode_compact_mask))
		return -EINVAL;
	if (length > MAX_CHARS)
		length = MAX_CHARS;
	unsigned kind = (state & o->unicode_kind_mask) >> __builtin_ctz(o->unicode_kind_mask);
	bool ascii = state & o->unicode_ascii_mask;
	if (ascii)
		kind = 1;
	if (kind != 1 && kind != 2 && kind != 4)
		return -EINVAL;
	uintptr_t data = str + (uintptr_t)(ascii ? o->unicode_ascii_size : o->unicode_compact_size);
	unsigned char chars[MAX_CHARS * 4];
	if (memread__read(chars, data, (size_t)length * kind) < 0)
		return -EFAULT;
	size_t at = 0;
	for (intptr_t i = 0; i < length; i++) {
		uint32_t c;
		if (kind == 1)
			c = chars[i];
		else if (kind == 2)
			c = (uint32_t)chars[2 * i] | (uint32_t)chars[2 * i + 1] << 8;
		else
			memcpy(&c, chars + 4 * i, 4);
		char enc[4];
		size_t k = put_utf8(enc, c);
		if (at + k >= size)
			break;
		memcpy(out + at, enc, k);
		at += k;
	}
	out[at] = 0;
	return (int)at;
}

long pybytes__read(const py_runtime *rt, uintptr_t bytes, uint8_t **out, size_t max)
{
	const py_offsets *o = rt->off;
	intptr_t len;
	*out = NULL;
	if (memread__read(&len, bytes + o->bytes_size, sizeof(len)) < 0)
		return -EFAULT;
	if (len < 0)
		return -EINVAL;
	if ((size_t)len > max)
		len = (intptr_t)max;
	uint8_t *buf = malloc(len ? (size_t)len : 1);
	if (!buf)
		return -ENOMEM;
	if (len && memread__read(buf, bytes + o->bytes_sval, (size_t)len) < 0) {
		free(buf);
		return -EFAULT;
	}
	*out = buf;
	return len;
}

/* A code object that was being freed while it was read leaves its name and file
 * pointing at memory used for something else: such text (empty, control bytes,
 * not UTF-8) is no name, and the frame is left out rather than shown as garbage
 * (or breaking a folded line). */
bool pystring__plausible(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!*p)
		return false;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f)
			return false;
		int more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (more < 0 || (more && *p < 0xc2))
			return false;
		p++;
		for (; more > 0; more--, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}
