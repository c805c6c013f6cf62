/* The interface of libfilspy-native.so (unwind/): native stacks for
 * FIL_PERF_SPY_NATIVE. It unwinds a copy of a thread's user stack with the
 * binaries' DWARF CFI (.eh_frame, .debug_frame) through elfutils' libdwfl and
 * names the addresses (.symtab/.dynsym, separate debug files by build-id and
 * .gnu_debuglink, MiniDebugInfo, C++ and Rust demangling). The light preload
 * never links it: the sampling thread dlopens it and looks up the one exported
 * symbol, fsnative_interface. Everything runs in the profiled process itself
 * (pid is its own), on the sampling thread only: not thread-safe. */
#ifndef FILSPY_NATIVE_API_H
#define FILSPY_NATIVE_API_H

#include <stddef.h>
#include <stdint.h>

#define FSNATIVE_INTERFACE_VERSION 1
#define FSNATIVE_INTERFACE_SYMBOL "fsnative_interface"

/* x86-64 user registers in DWARF numbering (the psABI's): rax rdx rcx rbx rsi
 * rdi rbp rsp r8..r15, then the return address column, rip, at 16. */
#define FSNATIVE_NREGS 17
#define FSNATIVE_REG_SP 7
#define FSNATIVE_REG_IP 16

typedef struct fsnative_session fsnative_session;

/* What one address is. The strings belong to the session and stay valid until it
 * is closed (names are cached per mapping, never freed before). */
typedef struct fsnative_symbol {
	const char *name;     /* demangled function name; NULL when no symbol covers it */
	const char *module;   /* the mapping's file's base name ("libz.so.1.2.13"); NULL
			       * when the address is in no known mapping */
	uint64_t offset;      /* the address's offset in that file (for "0xOFFSET (lib)") */
	uint64_t start;       /* the function's first address (0 without a symbol) */
} fsnative_symbol;

typedef struct fsnative_interface {
	int version;  /* FSNATIVE_INTERFACE_VERSION */
	/* Reports the mappings of process pid (/proc/PID/maps) to libdwfl. Returns NULL
	 * with why filled in (one sentence). */
	fsnative_session *(*open)(int pid, char *why, size_t why_size);
	/* Unwinds one sample of thread tid: regs are its user registers when it was
	 * stopped (DWARF numbering; unknown ones 0), stack[0..len) a copy of its user
	 * stack as it was then from address stack_addr up (stack_addr = regs[SP]).
	 * Memory the unwinder asks for outside that copy is read from the process
	 * where it is mapped and readable (never a fault), else the walk ends.
	 * Writes at most max addresses to pcs, innermost first: regs[IP], then each
	 * caller's return address minus one (so it lies in the calling function).
	 * Returns how many (>= 1 when regs[IP] is not 0), or -errno. */
	int (*unwind)(fsnative_session *s, int tid, const uint64_t regs[FSNATIVE_NREGS],
		      const uint8_t *stack, size_t len, uint64_t stack_addr,
		      uint64_t *pcs, int max);
	/* Names one address from unwind. An address in no known mapping re-reads the
	 * mappings first (a library loaded since), at most once every 100 ms.
	 * Fills out and returns 0; never fails (unknown parts are NULL/0). */
	int (*symbolize)(fsnative_session *s, uint64_t pc, fsnative_symbol *out);
	/* Frees everything. NULL is fine. */
	void (*close)(fsnative_session *s);
} fsnative_interface_t;

#endif
