/* The bpf program's walk plan (struct fsbpf_plan) from this interpreter's offsets:
 * the kernel side follows the same frame chain as pythreads.c, decided once in
 * py_runtime.chain, and tests no version itself. */
#include <errno.h>

#include "filspy/pyruntime.h"
#include "filspy/pystacks.h"

int bpf_plan__make(const py_runtime *rt, struct fsbpf_plan *p, const char **why)
{
	const py_offsets *o = rt->off;
	if (o->frame_size > FSBPF_FRAME_READ) {
		*why = "this CPython's frame layout is larger than the BPF walk reads";
		return -ENOTSUP;
	}
	*p = (struct fsbpf_plan){ 0 };
	p->tstate_frame = rt->chain.tstate_frame;
	p->cframe_current_frame = rt->chain.cframe_current_frame;
	p->cframe_previous = rt->chain.cframe_previous;
	p->frame_previous = o->frame_previous;
	p->frame_code = o->frame_code;
	p->frame_instr = o->frame_instr;
	p->frame_owner = o->frame_owner_cstack != PY_NO_OFFSET ? o->frame_owner : -1;
	p->frame_owner_cstack = o->frame_owner_cstack;
	p->frame_is_entry = o->frame_is_entry;
	p->frame_size = o->frame_size;
	p->code_check = o->code_qualname != PY_NO_OFFSET ? o->code_qualname : o->code_name;
	p->code_code_adaptive = o->code_code_adaptive;
	p->instr_is_pointer = rt->instr_is_pointer;
	p->code_tag_mask = rt->code_tag_mask;
	uintptr_t locked, holder, interp = pyruntime__interpreters_head(rt);
	if (interp && pyruntime__gil_fields(rt, interp, &locked, &holder) == 0) {
		p->gil_locked = locked;
		p->gil_holder = holder;
	}
	uintptr_t gil;
	size_t gil_size;
	if (interp && pyruntime__gil_range(rt, interp, &gil, &gil_size) == 0) {
		p->gil_start = gil;
		p->gil_size = gil_size;
	}
	return 0;
}
