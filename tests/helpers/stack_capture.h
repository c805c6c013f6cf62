/* Test and bench helper: this thread's registers and a copy of its stack, as a bpf sample would carry them. */
#ifndef FILSPY_TESTS_STACK_CAPTURE_H
#define FILSPY_TESTS_STACK_CAPTURE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "filspy/native_api.h"

#define CAPTURE_MAX (32 * 1024)

struct stack_capture {
	uint64_t regs[FSNATIVE_NREGS];
	uint8_t stack[CAPTURE_MAX];
	size_t len;
	uint64_t sp;
};

/* The end of the mapping holding addr (the stack's top), from /proc/self/maps;
 * 0 when not found. Called before the capture: it needs stack of its own. */
static inline uint64_t capture_stack_top(uint64_t addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	if (!f)
		return 0;
	unsigned long lo, hi;
	uint64_t top = 0;
	char line[512];
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi)
			top = hi;
	fclose(f);
	return top;
}

/* Fills c with the registers at one instruction of this function (callee-saved
 * ones, rsp, rip: what CFI needs; the rest stay 0) and the stack from that rsp
 * up, at most CAPTURE_MAX bytes and not past top. One asm block, so rsp and rip
 * agree: the CFA rule at that rip holds for that rsp. noinline: this function
 * is the sample's innermost frame. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((noinline, noipa))  /* and no clone: its name is what tests look for */
#else
__attribute__((noinline))
#endif
static void capture_stack(struct stack_capture *c, uint64_t top)
{
	memset(c->regs, 0, sizeof(c->regs));
	__asm__ volatile("movq %%rbx, 24(%0)\n\t"
			 "movq %%rbp, 48(%0)\n\t"
			 "movq %%rsp, 56(%0)\n\t"
			 "movq %%r12, 96(%0)\n\t"
			 "movq %%r13, 104(%0)\n\t"
			 "movq %%r14, 112(%0)\n\t"
			 "movq %%r15, 120(%0)\n\t"
			 "leaq 0(%%rip), %%rax\n\t"
			 "movq %%rax, 128(%0)\n\t"
			 : : "r"(c->regs) : "rax", "memory");
	c->sp = c->regs[FSNATIVE_REG_SP];
	size_t len = CAPTURE_MAX;
	if (top > c->sp && top - c->sp < len)
		len = top - c->sp;
	c->len = len;
	memcpy(c->stack, (const void *)(uintptr_t)c->sp, len);
}

#endif
