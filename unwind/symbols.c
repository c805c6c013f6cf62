/* Names an address: its module, file offset and function, cached per pc for the session. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gelf.h>

#include "native.h"

/* Fixed sizes (bounded memory): 16384 pcs take 640 KiB; when three quarters are
 * used the table starts again empty (entries hold only pointers to names that
 * live on). Demangled names are kept to close; past 8192 of them or 8 MiB the
 * mangled name is answered instead. */
#define PC_SLOTS (1u << 14)
#define NAME_SLOTS (1u << 13)
#define NAME_BYTES (8u << 20)

static size_t slot_of(uint64_t key, size_t slots)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 40) & (slots - 1);
}

static bool ensure_tables(fsnative_session *s)
{
	if (!s->pc_cache)
		s->pc_cache = calloc(PC_SLOTS, sizeof(*s->pc_cache));
	if (!s->names)
		s->names = calloc(NAME_SLOTS, sizeof(*s->names));
	return s->pc_cache && s->names;
}

static struct pc_entry *pc_slot(fsnative_session *s, uint64_t pc)
{
	size_t i = slot_of(pc, PC_SLOTS);
	while (s->pc_cache[i].pc && s->pc_cache[i].pc != pc)
		i = (i + 1) & (PC_SLOTS - 1);
	return &s->pc_cache[i];
}

static void remember(fsnative_session *s, uint64_t pc, const fsnative_symbol *sym)
{
	if (s->pc_used >= PC_SLOTS / 4 * 3) {
		memset(s->pc_cache, 0, PC_SLOTS * sizeof(*s->pc_cache));
		s->pc_used = 0;
	}
	struct pc_entry *e = pc_slot(s, pc);
	e->pc = pc;
	e->sym = *sym;
	s->pc_used++;
}

/* The demangled form of mangled, made once per symbol name. */
static const char *readable(fsnative_session *s, const char *mangled)
{
	if (mangled[0] != '_')
		return mangled;  /* C: nothing to do, no table entry */
	size_t i = slot_of((uint64_t)(uintptr_t)mangled, NAME_SLOTS);
	while (s->names[i].mangled && s->names[i].mangled != mangled)
		i = (i + 1) & (NAME_SLOTS - 1);
	if (s->names[i].mangled)
		return s->names[i].demangled ? s->names[i].demangled : mangled;
	if (s->names_used >= NAME_SLOTS / 4 * 3 || s->names_bytes >= NAME_BYTES)
		return mangled;
	char *d = demangle__name(mangled);
	s->names[i].mangled = mangled;
	s->names[i].demangled = d;
	s->names_used++;
	if (d)
		s->names_bytes += strlen(d) + 1;
	return d ? d : mangled;
}

static const char *base_name(const char *path)
{
	if (!path)
		return NULL;
	/* libdwfl names the vDSO "[vdso: PID]"; the pid would make every process's
	 * frames in it differ */
	if (strncmp(path, "[vdso", 5) == 0)
		return "[vdso]";
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* Where pc lies in the module's file: through the PT_LOAD segment holding it,
 * the offset `perf report`, addr2line of a non-PIE and "0xOFFSET (lib)" mean. */
static uint64_t file_offset(Dwfl_Module *m, uint64_t pc, Dwarf_Addr low)
{
	Dwarf_Addr bias;
	Elf *elf = dwfl_module_getelf(m, &bias);
	size_t n;
	if (elf && elf_getphdrnum(elf, &n) == 0) {
		uint64_t vaddr = pc - bias;
		for (size_t i = 0; i < n; i++) {
			GElf_Phdr ph;
			if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
				continue;
			if (vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_memsz)
				return vaddr - ph.p_vaddr + ph.p_offset;
		}
	}
	return pc - low;
}

/* dwfl_addrmodule answers the last module for an address past every module
 * (the vsyscall page, a wild pointer), so its range is checked here. */
static Dwfl_Module *module_of(fsnative_session *s, uint64_t pc, Dwarf_Addr *low, const char **path)
{
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, pc);
	Dwarf_Addr high = 0;
	if (m)
		*path = dwfl_module_info(m, NULL, low, &high, NULL, NULL, NULL, NULL);
	return m && pc >= *low && pc < high ? m : NULL;
}

int symbols__lookup(fsnative_session *s, uint64_t pc, fsnative_symbol *out)
{
	*out = (fsnative_symbol){ 0 };
	if (!ensure_tables(s))
		return 0;  /* out of memory: the answer is "unknown", as promised */
	if (pc == 0)
		return 0;
	struct pc_entry *hit = pc_slot(s, pc);
	if (hit->pc == pc) {
		*out = hit->sym;
		return 0;
	}
	Dwarf_Addr low = 0;
	const char *path = NULL;
	Dwfl_Module *m = module_of(s, pc, &low, &path);
	if (!m && session__refresh(s) == 0)
		m = module_of(s, pc, &low, &path);
	if (!m)
		return 0;  /* not cached: a later re-read may find it */
	out->module = base_name(path);
	out->offset = file_offset(m, pc, low);
	uint64_t start = 0;
	const char *name = symtab__function(s, m, pc, &start);
	if (name) {
		out->name = readable(s, name);
		out->start = start;
	}
	remember(s, pc, out);
	return 0;
}

void symbols__free(fsnative_session *s)
{
	symtab__free(s);
	if (s->names)
		for (size_t i = 0; i < NAME_SLOTS; i++)
			free(s->names[i].demangled);
	free(s->names);
	free(s->pc_cache);
	s->names = NULL;
	s->pc_cache = NULL;
}
