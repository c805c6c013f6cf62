/* A word of the sampled thread's memory, as the unwinders read it. */
#include <string.h>
#include <sys/uio.h>

#include "native.h"

/* How far above sp the thread's own stack may reach (the usual 8 MiB limit) */
#define STACK_REACH (8ull << 20)

/* A word of the stack as it was when the sample was taken, else of the process
 * as it is now (what the unwinder reads outside the stack is mostly constant:
 * a signal frame's context lies on the stack, but a PLT's GOT does not).
 * process_vm_readv of our own pid reads no page that is unmapped or unreadable
 * (EFAULT), so a wrong guess of the CFI or frame-pointer fallback ends the walk
 * instead of crashing the profiled program. */
bool memory__read_word(fsnative_session *s, uint64_t addr, uint64_t *result)
{
	if (addr >= s->stack_addr && addr - s->stack_addr <= s->len &&
	    s->len - (addr - s->stack_addr) >= sizeof(*result)) {
		memcpy(result, s->stack + (addr - s->stack_addr), sizeof(*result));
		return true;
	}
	if (addr < 4096)
		return false;  /* a NULL-ish pointer: no syscall for it */
	/* the same stack beyond the copy holds other frames by now: a walk that
	 * reaches there ends rather than going on through what runs now */
	if (addr >= s->stack_addr && addr - s->stack_addr < STACK_REACH)
		return false;
	struct iovec local = { result, sizeof(*result) };
	struct iovec remote = { (void *)(uintptr_t)addr, sizeof(*result) };
	return process_vm_readv(s->pid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*result);
}
