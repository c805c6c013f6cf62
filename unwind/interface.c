/* libfilspy-native.so's entry: fsnative_interface (include/filspy/native_api.h), its only export. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "native.h"

static void native_close(fsnative_session *s)
{
	if (!s)
		return;
	symbols__free(s);
	free(s->rules);
	session__close(s);
	free(s);
}

static fsnative_session *native_open(int pid, char *why, size_t why_size)
{
	char ignored[8];
	if (!why || why_size == 0) {
		why = ignored;
		why_size = sizeof(ignored);
	}
	why[0] = '\0';
	if (pid <= 0) {
		snprintf(why, why_size, "libfilspy-native: no process %d", pid);
		return NULL;
	}
	fsnative_session *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(why, why_size, "libfilspy-native: out of memory");
		return NULL;
	}
	if (session__open(s, pid, why, why_size) != 0 || unwind__attach(s, why, why_size) != 0) {
		native_close(s);
		return NULL;
	}
	return s;
}

static int native_unwind(fsnative_session *s, int tid, const uint64_t regs[FSNATIVE_NREGS],
			 const uint8_t *stack, size_t len, uint64_t stack_addr, uint64_t *pcs,
			 int max)
{
	if (!s)
		return -EINVAL;
	return unwind__walk(s, tid, regs, stack, len, stack_addr, pcs, max);
}

static int native_symbolize(fsnative_session *s, uint64_t pc, fsnative_symbol *out)
{
	if (!out)
		return 0;
	if (!s) {
		*out = (fsnative_symbol){ 0 };
		return 0;
	}
	return symbols__lookup(s, pc, out);
}

__attribute__((visibility("default"))) const fsnative_interface_t fsnative_interface = {
	.version = FSNATIVE_INTERFACE_VERSION,
	.open = native_open,
	.unwind = native_unwind,
	.symbolize = native_symbolize,
	.close = native_close,
};
