/* Each module's function symbols, read once and sorted by address, so that naming
 * an address is a binary search. libdwfl's own dwfl_module_addrinfo scans the whole
 * symbol table for every address it is asked about (libpython's 15 000 symbols: tens
 * of microseconds each), and a profile asks about every distinct pc it meets. */
#include <stdlib.h>

#include <gelf.h>

#include "native.h"

struct func {
	uint64_t start, end;  /* [start, end): end is the next function's start when st_size is 0 */
	const char *name;     /* in the ELF file's string table: lives as long as the Dwfl */
};

struct module_table {
	Dwfl_Module *module;
	struct func *funcs;
	size_t n;
};

static int by_start(const void *a, const void *b)
{
	const struct func *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Reads and sorts the module's functions; an empty table when it has none. */
static int build(struct module_table *t, Dwfl_Module *m)
{
	t->module = m;
	t->funcs = NULL;
	t->n = 0;
	int count = dwfl_module_getsymtab(m);
	if (count <= 0)
		return 0;
	t->funcs = malloc((size_t)count * sizeof(*t->funcs));
	if (!t->funcs)
		return -1;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(m, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !name[0] || !addr || shndx == SHN_UNDEF ||
		    (type != STT_FUNC && type != STT_GNU_IFUNC))
			continue;
		t->funcs[t->n++] = (struct func){ addr, addr + sym.st_size, name };
	}
	qsort(t->funcs, t->n, sizeof(*t->funcs), by_start);
	/* a symbol without a size reaches to the next one (hand-written assembly) */
	for (size_t i = 0; i < t->n; i++)
		if (t->funcs[i].end == t->funcs[i].start)
			t->funcs[i].end = i + 1 < t->n ? t->funcs[i + 1].start : t->funcs[i].start + 1;
	return 0;
}

static struct module_table *table_of(fsnative_session *s, Dwfl_Module *m)
{
	if (s->last_table && s->last_table->module == m)
		return s->last_table;
	for (size_t i = 0; i < s->n_tables; i++)
		if (s->tables[i].module == m)
			return s->last_table = &s->tables[i];
	if (s->n_tables == s->cap_tables) {
		size_t cap = s->cap_tables ? s->cap_tables * 2 : 64;
		struct module_table *grown = realloc(s->tables, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		s->tables = grown;
		s->cap_tables = cap;
		s->last_table = NULL;
	}
	struct module_table *t = &s->tables[s->n_tables];
	if (build(t, m) < 0)
		return NULL;
	s->n_tables++;
	return s->last_table = t;
}

const char *symtab__function(fsnative_session *s, Dwfl_Module *m, uint64_t pc, uint64_t *start)
{
	struct module_table *t = table_of(s, m);
	if (!t || !t->n)
		return NULL;
	/* the last function starting at or before pc; where sizes overlap (aliases of
	 * one function), any of them names it */
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->funcs[mid].start <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct func *f = &t->funcs[lo - 1];
	if (pc >= f->end)
		return NULL;
	*start = f->start;
	return f->name;
}

void symtab__free(fsnative_session *s)
{
	for (size_t i = 0; i < s->n_tables; i++)
		free(s->tables[i].funcs);
	free(s->tables);
	s->tables = s->last_table = NULL;
	s->n_tables = s->cap_tables = 0;
}
