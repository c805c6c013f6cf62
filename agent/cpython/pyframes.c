/* Walks one thread's Python frames from the innermost outwards. */
#include <errno.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

#define FRAME_BUF 256

int pyframes__walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach,
		   py_frame_ref *out, int max, bool *truncated)
{
	const py_offsets *o = rt->off;
	unsigned char buf[FRAME_BUF];
	size_t len = (size_t)o->frame_size < sizeof(buf) ? (size_t)o->frame_size : sizeof(buf);
	int n = 0;

	*truncated = false;
	/* each step is one copy; a cycle in a torn chain ends at max */
	while (frame) {
		if (n == max) {
			*truncated = true;
			break;
		}
		if (memread__read(buf, frame, len) < 0)
			break;
		uintptr_t previous, code;
		memcpy(&previous, buf + o->frame_previous, sizeof(previous));
		memcpy(&code, buf + o->frame_code, sizeof(code));
		if (frame == must_reach)
			must_reach = 0;
		code &= rt->code_tag_mask;
		/* a frame that no longer runs was freed and reused under us: the chain
		 * read so far mixes two moments */
		if (o->frame_executing != PY_NO_OFFSET &&
		    (signed char)buf[o->frame_executing] != o->frame_executing_value)
			return -EAGAIN;
		bool shim = o->frame_owner_cstack != PY_NO_OFFSET &&
			    buf[o->frame_owner] == (unsigned char)o->frame_owner_cstack;
		if (!shim && code) {
			out[n].code = code;
			if (rt->instr_is_pointer) {
				memcpy(&out[n].instr, buf + o->frame_instr, sizeof(out[n].instr));
			} else {
				int lasti;
				memcpy(&lasti, buf + o->frame_instr, sizeof(lasti));
				out[n].instr = (uintptr_t)(intptr_t)lasti;
			}
			n++;
		}
		if (previous == frame)
			break;
		frame = previous;
	}
	if (must_reach && !*truncated)
		return -EAGAIN;
	return n;
}
