/* Walks one thread's Python frames from the innermost outwards. */
#include <errno.h>
#include <string.h>

#include "filspy/memread.h"
#include "filspy/pystack.h"

#define FRAME_BUF 256
/* Frames checked again after a walk (the innermost ones: they change most);
 * two reads each stay within one process_vm_readv (IOV_MAX = 1024). */
#define VERIFY_MAX 512

/* The previous and code words of each frame as the walk read them, and as read
 * again. Static: only the sampling thread walks. */
static uintptr_t walked[VERIFY_MAX][2], reread[VERIFY_MAX][2], walked_at[VERIFY_MAX];
static memread_req again[2 * VERIFY_MAX];

/* >= 3.11 frames live in a per-thread stack and are reused at once when a call
 * returns, with no "still running" flag to check: a chain read while the thread
 * returned and called again can splice two moments into one stack. Reading the
 * innermost frames' links again, in one batched copy, and finding them unchanged
 * shows the chain held still during the walk. */
static bool chain_held_still(const py_offsets *o, int n)
{
	if (n > VERIFY_MAX)
		n = VERIFY_MAX;
	for (int i = 0; i < n; i++) {
		again[2 * i] = (memread_req){ .addr = walked_at[i] + (uintptr_t)o->frame_previous,
					      .dst = &reread[i][0], .len = sizeof(uintptr_t) };
		again[2 * i + 1] = (memread_req){ .addr = walked_at[i] + (uintptr_t)o->frame_code,
						  .dst = &reread[i][1], .len = sizeof(uintptr_t) };
	}
	if (memread__batch(again, 2 * (size_t)n) != 2 * (size_t)n)
		return false;
	return memcmp(walked, reread, (size_t)n * sizeof(walked[0])) == 0;
}

int pyframes__walk(const py_runtime *rt, uintptr_t frame, uintptr_t must_reach,
		   py_frame_ref *out, int max, bool *truncated)
{
	const py_offsets *o = rt->off;
	unsigned char buf[FRAME_BUF];
	size_t len = (size_t)o->frame_size < sizeof(buf) ? (size_t)o->frame_size : sizeof(buf);
	int n = 0, steps = 0;

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
		if (steps < VERIFY_MAX) {
			walked_at[steps] = frame;
			walked[steps][0] = previous;
			walked[steps][1] = code;
		}
		steps++;
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
			if (rt->minor >= 11) {
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
	if (o->frame_executing == PY_NO_OFFSET && steps && !chain_held_still(o, steps))
		return -EAGAIN;
	return n;
}
