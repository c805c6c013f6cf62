/* A frame's first local variable (its first argument), read as a str: the module
 * name of an import's _find_and_load frame. */
#include <errno.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

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
