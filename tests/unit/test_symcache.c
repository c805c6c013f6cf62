/* The code-object cache (agent/cpython/symcache.c) on code objects made here in
 * CPython 3.11's layout: what a frame whose code object was freed since the walk
 * is named. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "filspy/memread.h"
#include "filspy/pyoffsets.h"
#include "filspy/pyruntime.h"
#include "filspy/symcache.h"

static _Alignas(16) unsigned char strings[3][256];

/* a compact ASCII str at buf, as 3.11 lays one out */
static uintptr_t make_str(const py_offsets *o, unsigned char *buf, const char *text)
{
	intptr_t length = (intptr_t)strlen(text);
	uint32_t state = o->unicode_compact_mask | o->unicode_ascii_mask |
			 (1u << __builtin_ctz(o->unicode_kind_mask));
	memcpy(buf + o->unicode_length, &length, sizeof(length));
	memcpy(buf + o->unicode_state, &state, sizeof(state));
	memcpy(buf + o->unicode_ascii_size, text, strlen(text) + 1);
	return (uintptr_t)buf;
}

static void put_ptr(unsigned char *at, int off, uintptr_t v)
{
	memcpy(at + off, &v, sizeof(v));
}

/* a code object named <module> of tower/m10.py in a page of its own */
static unsigned char *make_code(const py_offsets *o)
{
	unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(page != MAP_FAILED);
	intptr_t no_bytes = 0;
	memcpy(strings[2] + o->bytes_size, &no_bytes, sizeof(no_bytes));
	put_ptr(page, o->code_qualname, make_str(o, strings[0], "<module>"));
	put_ptr(page, o->code_name, make_str(o, strings[0], "<module>"));
	put_ptr(page, o->code_filename, make_str(o, strings[1], "tower/m10.py"));
	put_ptr(page, o->code_linetable, (uintptr_t)strings[2]);
	int first = 1;
	memcpy(page + o->code_firstlineno, &first, sizeof(first));
	return page;
}

Test(symcache, a_code_object_freed_since_the_walk_keeps_the_name_cached_for_its_address)
{
	memread__init();
	py_runtime rt = { .major = 3, .minor = 11, .off = pyoffsets__for_version(3, 11) };
	cr_assert(rt.off);
	symcache *c = symcache__new(&rt);
	unsigned char *code = make_code(rt.off);
	py_frame_ref frames[1] = { { .code = (uintptr_t)code } };
	const sym_entry *out[1];

	symcache__resolve(c, frames, 1, out);
	cr_assert(out[0], "a readable code object is named");
	cr_assert_str_eq(out[0]->name, "<module>");
	cr_assert(strstr(out[0]->file, "m10.py"), "%s", out[0]->file);

	/* the module ran, its code object was freed and the memory went back: the
	 * sample walked before still names the frame (no hole in its stack) */
	munmap(code, 4096);
	symcache__resolve(c, frames, 1, out);
	cr_assert(out[0], "the frame keeps the entry its address had");
	cr_assert_str_eq(out[0]->name, "<module>");

	/* an address never cached stays unnamed */
	py_frame_ref unknown[1] = { { .code = (uintptr_t)code + 2048 } };
	symcache__resolve(c, unknown, 1, out);
	cr_assert_null(out[0]);
	symcache__free(c);
}
