/* Walks one sample's stack copy with libdwfl's CFI unwinder (the Dwfl_Thread_Callbacks). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "native.h"

/* The one thread of the sample: libdwfl asks for threads, we have one. */
static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	fsnative_session *s = arg;
	if (*thread_argp)
		return 0;
	*thread_argp = s;
	return s->tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	fsnative_session *s = arg;
	if (tid != s->tid)
		return false;
	*thread_argp = s;
	return true;
}

/* libdwfl's reads of the thread's memory: memory.c's */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	uint64_t w = 0;
	bool ok = memory__read_word(arg, addr, &w);
	*result = w;
	return ok;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	fsnative_session *s = thread_arg;
	Dwarf_Word regs[FSNATIVE_NREGS];
	for (int i = 0; i < FSNATIVE_NREGS; i++)
		regs[i] = s->regs[i];
	/* x86-64's frame has 17 registers in libdwfl, the 17th (16) being the
	 * return address column, from which libdwfl takes the first frame's pc */
	return dwfl_thread_state_registers(thread, 0, FSNATIVE_NREGS, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

int unwind__attach(fsnative_session *s, char *why, size_t why_size)
{
	/* elf NULL: libdwfl takes the machine from the first module it can open */
	if (!dwfl_attach_state(s->dwfl, NULL, s->pid, &thread_callbacks, s)) {
		snprintf(why, why_size, "libdwfl: dwfl_attach_state: %s", dwfl_errmsg(-1));
		return -EIO;
	}
	return 0;
}

static int on_frame(Dwfl_Frame *frame, void *arg)
{
	fsnative_session *s = arg;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(frame, &pc, &activation) || pc == 0)
		return DWARF_CB_ABORT;
	/* a return address points after the call, maybe into the next function
	 * (a noreturn call ends one); minus one lies in the call instruction. The
	 * interrupted frame and a signal handler's caller are activations. */
	if (!activation)
		pc -= 1;
	s->pcs[s->n++] = pc;
	return s->n < s->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

int unwind__walk(fsnative_session *s, int tid, const uint64_t regs[FSNATIVE_NREGS],
		 const uint8_t *stack, size_t len, uint64_t stack_addr, uint64_t *pcs, int max)
{
	if (!regs || !pcs || max <= 0 || (len && !stack) || tid <= 0)
		return -EINVAL;
	if (regs[FSNATIVE_REG_IP] == 0)
		return 0;
	session__follow_loads(s);
	s->tid = tid;
	s->regs = regs;
	s->stack = stack;
	s->len = stack ? len : 0;
	s->stack_addr = stack_addr;
	s->pcs = pcs;
	s->max = max;
	s->n = 0;
	int n = fastcfi__walk(s, regs, pcs, max);
	if (n < 0) {
		/* -1 is libdwfl's "the walk stopped": no CFI and no frame pointer for
		 * a frame, or a read it asked for failed; what came before stays good */
		dwfl_getthread_frames(s->dwfl, tid, on_frame, s);
		n = s->n;
	}
	s->stack = NULL;
	s->regs = NULL;
	s->pcs = NULL;
	if (n == 0) {
		pcs[0] = regs[FSNATIVE_REG_IP];
		n = 1;
	}
	return n;
}
