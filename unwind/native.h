/* unwind/'s private header: the session that libfilspy-native.so's files share. */
#ifndef FILSPY_UNWIND_NATIVE_H
#define FILSPY_UNWIND_NATIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <elfutils/libdwfl.h>

#include "filspy/native_api.h"

/* pc -> what symbolize answered; pc 0 marks a free slot (0 is never a pc). */
struct pc_entry {
	uint64_t pc;
	fsnative_symbol sym;
};

/* symbol name as libdwfl gave it (a pointer into an ELF string table, which
 * lives as long as the Dwfl) -> its demangled copy, malloc'd and kept to close */
struct name_entry {
	const char *mangled;
	char *demangled;
};

struct fsnative_session {
	Dwfl *dwfl;
	int pid;
	uint64_t last_report_ns;  /* CLOCK_MONOTONIC of the last read of the maps */
	unsigned long long loads; /* dl_iterate_phdr's count of loads at that read */
	/* the sample being unwound, for the Dwfl_Thread_Callbacks */
	int tid;
	const uint64_t *regs;
	const uint8_t *stack;
	size_t len;
	uint64_t stack_addr;
	uint64_t *pcs;
	int max, n;
	/* symbols.c's caches: fixed sizes, so the memory they take is bounded */
	struct pc_entry *pc_cache;
	size_t pc_used;
	struct name_entry *names;
	size_t names_used;
	size_t names_bytes;
	/* fastcfi.c: each pc's row of CFI, decoded once */
	struct cfi_rule *rules;
	/* symtab.c: per module, its functions sorted by address */
	struct module_table *tables, *last_table;
	size_t n_tables, cap_tables;
};

/* session.c: reports pid's mappings to a new Dwfl; 0 or -errno (why filled). */
int session__open(fsnative_session *s, int pid, char *why, size_t why_size);
/* Re-reads the mappings (libraries loaded since), at most once per 100 ms:
 * 0 when it did, -EAGAIN when too soon, -EIO when libdwfl failed. */
int session__refresh(fsnative_session *s);
/* Re-reads the mappings at once when the dynamic loader has loaded a library
 * since the last read (an extension module imported late): a cheap test, made
 * before each walk so that the walk and its names find the new module. */
void session__follow_loads(fsnative_session *s);
void session__close(fsnative_session *s);

/* debuginfo.c: the Dwfl_Callbacks find_debuginfo of the session */
int debuginfo__find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
		    char **debuginfo_file_name);

/* unwind.c: attaches the thread callbacks to s->dwfl (once, from open), then
 * walks one sample. */
int unwind__attach(fsnative_session *s, char *why, size_t why_size);
int unwind__walk(fsnative_session *s, int tid, const uint64_t regs[FSNATIVE_NREGS],
		 const uint8_t *stack, size_t len, uint64_t stack_addr, uint64_t *pcs, int max);

/* memory.c: a word of the sampled thread's memory, as the unwinders read it (the
 * stack copy first); false when it cannot be read. */
bool memory__read_word(fsnative_session *s, uint64_t addr, uint64_t *out);

/* fastcfi.c: the sample of s (regs, stack copy) unwound with CFI rows of the
 * common kind only, into pcs as libdwfl's walk gives them (but for where a return
 * address cannot be read: see fastcfi.c); -1 when a frame's row is of another
 * kind (then libdwfl walks the sample). */
int fastcfi__walk(fsnative_session *s, const uint64_t regs[FSNATIVE_NREGS], uint64_t *pcs, int max);

/* symtab.c: the function of module m that pc lies in (its first address in
 * *start), or NULL; the module's table is built at its first address. */
const char *symtab__function(fsnative_session *s, Dwfl_Module *m, uint64_t pc, uint64_t *start);
void symtab__free(fsnative_session *s);

/* symbols.c */
int symbols__lookup(fsnative_session *s, uint64_t pc, fsnative_symbol *out);
void symbols__free(fsnative_session *s);

/* demangle.c: a malloc'd readable name for a C++ or Rust symbol, or NULL when
 * name is not mangled (or too long to demangle on the sampling thread). */
char *demangle__name(const char *name);

#endif
