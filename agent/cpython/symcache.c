/* Code-object cache: names and line tables read once, validated on every sample. */
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "filspy/hash.h"
#include "filspy/imports.h"
#include "filspy/memread.h"
#include "filspy/shortpath.h"
#include "filspy/symcache.h"
#include "cpython/linetable.h"

#define MAX_ENTRIES 65536      /* beyond this the cache starts over */
#define MAX_TABLE_BYTES (1 << 20)
#define NAME_MAX_BYTES 512

struct symcache {
	const py_runtime *rt;
	uintptr_t code_type;   /* &PyCode_Type: what a code object's ob_type must be */
	sym_entry **slots;     /* open addressing by code address */
	size_t mask, used;
	unsigned char *headers;/* per-frame copies of code object headers */
	size_t headers_cap;    /* in frames */
	memread_req *reqs;     /* per distinct code object: its header */
	memread_req *batch;    /* what is read: headers, and their names' prints */
	int *print_at;         /* per distinct code object: its print's index in batch, or -1 */
	unsigned char *prints; /* SYM_PRINT_MAX bytes per distinct code object */
	/* one sample's distinct code objects: frame i's is distinct[which[i]] */
	int *which;
	const sym_entry **distinct;
	struct seen_code { uintptr_t code; uint32_t round; int at; } *seen;
	bool full_paths;
	size_t seen_mask;
	uint32_t round;
	uint64_t generation;   /* entries freed so far (symcache__generation) */
};

symcache *symcache__new(const py_runtime *rt)
{
	symcache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rt = rt;
	c->code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
	c->mask = 1023;
	c->slots = calloc(c->mask + 1, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return NULL;
	}
	return c;
}

static void entry_free(sym_entry *e)
{
	if (!e)
		return;
	free((char *)e->name);
	free((char *)e->file);
	free((uint8_t *)e->table);
	free(e);
}

static void clear_slots(symcache *c)
{
	for (size_t i = 0; i <= c->mask; i++) {
		entry_free(c->slots[i]);
		c->slots[i] = NULL;
	}
	c->used = 0;
	c->generation++;
}

void symcache__full_paths(symcache *c, bool full)
{
	c->full_paths = full;
}

void symcache__free(symcache *c)
{
	if (!c)
		return;
	clear_slots(c);
	free(c->slots);
	free(c->headers);
	free(c->reqs);
	free(c->batch);
	free(c->print_at);
	free(c->prints);
	free(c->which);
	free(c->distinct);
	free(c->seen);
	free(c);
}

uint64_t symcache__generation(const symcache *c)
{
	return c->generation;
}

unsigned symcache__size(const symcache *c)
{
	return (unsigned)c->used;
}

static size_t slot_of(const symcache *c, uintptr_t code)
{
	return ((code >> 4) * 0x9e3779b97f4a7c15ULL >> 20) & c->mask;
}

static sym_entry **find_slot(symcache *c, uintptr_t code)
{
	size_t h = slot_of(c, code);
	while (c->slots[h] && c->slots[h]->code != code)
		h = (h + 1) & c->mask;
	return &c->slots[h];
}

static int grow(symcache *c)
{
	size_t n = (c->mask + 1) * 2;
	sym_entry **slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	sym_entry **old = c->slots;
	size_t old_n = c->mask + 1;
	c->slots = slots;
	c->mask = n - 1;
	for (size_t i = 0; i < old_n; i++)
		if (old[i])
			*find_slot(c, old[i]->code) = old[i];
	free(old);
	return 0;
}

static uintptr_t field_ptr(const unsigned char *h, int off)
{
	uintptr_t v;
	memcpy(&v, h + off, sizeof(v));
	return v;
}

static int field_int(const unsigned char *h, int off)
{
	int v;
	memcpy(&v, h + off, sizeof(v));
	return v;
}


static bool entry_matches(const sym_entry *e, const py_offsets *o, const unsigned char *h)
{
	return e->check_name == field_ptr(h, o->code_qualname != PY_NO_OFFSET ? o->code_qualname : o->code_name) &&
	       e->check_file == field_ptr(h, o->code_filename) &&
	       e->check_table == field_ptr(h, o->code_linetable) &&
	       e->check_argcount == field_int(h, o->code_argcount) &&
	       e->firstlineno == field_int(h, o->code_firstlineno);
}

static sym_entry *resolve_one(symcache *c, uintptr_t code, const unsigned char *h)
{
	const py_offsets *o = c->rt->off;
	char name[NAME_MAX_BYTES], path[4096], file[4096];
	int name_off = o->code_qualname != PY_NO_OFFSET ? o->code_qualname : o->code_name;

	if (pystring__read(c->rt, field_ptr(h, name_off), name, sizeof(name)) < 0 ||
	    pystring__read(c->rt, field_ptr(h, o->code_filename), path, sizeof(path)) < 0 ||
	    !pystring__plausible(name) || !pystring__plausible(path))
		return NULL;
	sym_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	uint8_t *table = NULL;
	long len = pybytes__read(c->rt, field_ptr(h, o->code_linetable), &table, MAX_TABLE_BYTES);
	e->table = table;
	e->table_len = len > 0 ? (uint32_t)len : 0;
	shortpath__make(path, file, sizeof(file), &e->origin);
	e->code = code;
	e->firstlineno = field_int(h, o->code_firstlineno);
	/* decided once per code object, not per frame of every sample */
	if (imports__is_machinery(file))
		e->import_role = imports__is_find_and_load(name) ? SYM_IMPORT_FIND_AND_LOAD
								 : SYM_IMPORT_MACHINERY;
	e->name = strdup(name);
	e->file = strdup(c->full_paths ? path : file);
	e->check_name = field_ptr(h, name_off);
	e->check_file = field_ptr(h, o->code_filename);
	e->check_table = field_ptr(h, o->code_linetable);
	e->check_argcount = field_int(h, o->code_argcount);
	/* the header up to the text, and as much of the text as the name has (never
	 * past the string's end: the bytes beyond belong to other objects) */
	size_t text = strlen(name) < 16 ? strlen(name) : 16;
	size_t print = (size_t)(o->unicode_ascii_size - o->unicode_length) + text;
	if (print <= SYM_PRINT_MAX &&
	    memread__read(e->print, e->check_name + (uintptr_t)o->unicode_length, print) == 0)
		e->print_len = (uint8_t)print;
	e->key = hash__field(hash__field(HASH_FNV_OFFSET ^ (uint64_t)e->firstlineno, name), path);
	if (!e->name || !e->file) {
		entry_free(e);
		return NULL;
	}
	return e;
}

/* *p grown to bytes (left as it was when that fails) */
static bool grow_to(void *p, size_t bytes)
{
	void *grown = realloc(*(void **)p, bytes);
	if (grown)
		*(void **)p = grown;
	return grown != NULL;
}

static int ensure_buffers(symcache *c, int n)
{
	if ((size_t)n <= c->headers_cap)
		return 0;
	size_t cap = c->headers_cap ? c->headers_cap : 64;
	while (cap < (size_t)n)
		cap *= 2;
	if (!grow_to(&c->headers, cap * (size_t)c->rt->off->code_size) ||
	    !grow_to(&c->reqs, cap * sizeof(*c->reqs)) ||
	    !grow_to(&c->batch, 2 * cap * sizeof(*c->batch)) ||
	    !grow_to(&c->print_at, cap * sizeof(*c->print_at)) ||
	    !grow_to(&c->prints, cap * SYM_PRINT_MAX) ||
	    !grow_to(&c->which, cap * sizeof(*c->which)) ||
	    !grow_to(&c->distinct, cap * sizeof(*c->distinct)))
		return -1;
	struct seen_code *seen = calloc(cap * 2, sizeof(*seen));
	if (!seen)
		return -1;
	free(c->seen);
	c->seen = seen;
	c->seen_mask = cap * 2 - 1;
	c->headers_cap = cap;
	return 0;
}

/* Frame i's code object among this sample's distinct ones (c->reqs[0..*m) ask for
 * them): a recursion of 1000 frames reads its code object once. */
static int distinct_code(symcache *c, uintptr_t code, int *m)
{
	size_t size = (size_t)c->rt->off->code_size;
	for (size_t h = (size_t)(((code >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & c->seen_mask;;
	     h = (h + 1) & c->seen_mask) {
		struct seen_code *e = &c->seen[h];
		if (e->round == c->round && e->code == code)
			return e->at;
		if (e->round != c->round) {
			*e = (struct seen_code){ code, c->round, *m };
			c->reqs[*m] = (memread_req){ code, c->headers + (size_t)*m * size, size };
			return (*m)++;
		}
	}
}

/* prints: check the entries' name strings too (frames read just now, whose code
 * objects are alive); without, a code object freed since its sample but not yet
 * overwritten keeps its entry, which a check word then vouches for */
static void resolve(symcache *c, const py_frame_ref *frames, int n, const sym_entry **out,
		    bool prints)
{
	const py_offsets *o = c->rt->off;
	size_t size = (size_t)o->code_size;
	for (int i = 0; i < n; i++)
		out[i] = NULL;
	if (n <= 0 || ensure_buffers(c, n) < 0)
		return;
	/* start over before, never during, a call: out[] must stay valid */
	if (c->used + (size_t)n > MAX_ENTRIES)
		clear_slots(c);
	if (++c->round == 0) { /* the marks of 2^32 samples ago would match again */
		memset(c->seen, 0, (c->seen_mask + 1) * sizeof(*c->seen));
		c->round = 1;
	}
	int m = 0;
	for (int i = 0; i < n; i++)
		c->which[i] = distinct_code(c, frames[i].code, &m);
	/* each header, and after it the print of the name its cached entry has */
	int b = 0;
	for (int k = 0; k < m; k++) {
		c->batch[b++] = c->reqs[k];
		const sym_entry *e = prints ? *find_slot(c, c->reqs[k].addr) : NULL;
		c->print_at[k] = e && e->print_len ? b : -1;
		if (e && e->print_len)
			c->batch[b++] = (memread_req){ e->check_name + (uintptr_t)o->unicode_length,
						       c->prints + (size_t)k * SYM_PRINT_MAX, e->print_len };
	}
	/* what cannot be read (freed, garbage) is marked with addr 0 and the batch
	 * goes on after it */
	for (int i = 0; i < b;) {
		i += (int)memread__batch(c->batch + i, (size_t)(b - i));
		if (i < b)
			c->batch[i++].addr = 0;
	}
	for (int k = 0, at = 0; k < m; at += 1 + (c->print_at[k] >= 0), k++) {
		const unsigned char *h = c->headers + (size_t)k * size;
		uintptr_t code = c->batch[at].addr;
		c->distinct[k] = NULL;
		if (!code)
			continue;
		/* anything but a code object (3.13's None entry frame, garbage) is skipped */
		if (c->code_type && field_ptr(h, o->object_type) != c->code_type)
			continue;
		sym_entry **slot = find_slot(c, code);
		int p = c->print_at[k];
		if (*slot && entry_matches(*slot, o, h) &&
		    (p < 0 || (c->batch[p].addr &&
			       !memcmp(c->prints + (size_t)k * SYM_PRINT_MAX, (*slot)->print, (*slot)->print_len)))) {
			c->distinct[k] = *slot;
			continue;
		}
		if (*slot) { /* the address now holds another code object */
			entry_free(*slot);
			*slot = NULL;
			c->used--;
			c->generation++;
		}
		if ((c->used + 1) * 2 > c->mask + 1 && grow(c) < 0)
			continue;
		slot = find_slot(c, code);
		*slot = resolve_one(c, code, h);
		if (*slot)
			c->used++;
		c->distinct[k] = *slot;
	}
	for (int i = 0; i < n; i++)
		out[i] = c->distinct[c->which[i]];
}

/* A frame whose code object is no readable code object now was freed since the
 * sample (the frame returned: a module's body ends its import; a stop off the CPU
 * is resolved when the thread runs again) and its memory reused. The entry cached
 * for its address is what the address held, so it names the frame, and the stack
 * keeps it instead of a hole (CI of 7c93271: a start-up import tower missing a
 * level): when the sample has check words, only if the frame's matches; without
 * (frames read just now), as it is. 3.13's None entry frames and garbage have no
 * entry and stay unnamed. */
static void name_freed_as_cached(symcache *c, const py_frame_ref *frames,
				 const uint32_t *checks, int n, const sym_entry **out)
{
	for (int i = 0; i < n; i++) {
		if (out[i] || !frames[i].code || (checks && !checks[i]))
			continue;
		sym_entry **slot = find_slot(c, frames[i].code);
		if (*slot && (!checks || (uint32_t)(*slot)->check_name == checks[i]))
			out[i] = *slot;
	}
}

void symcache__resolve(symcache *c, const py_frame_ref *frames, int n, const sym_entry **out)
{
	resolve(c, frames, n, out, true);
	name_freed_as_cached(c, frames, NULL, n, out);
}

void symcache__resolve_checked(symcache *c, const py_frame_ref *frames, const uint32_t *checks,
			       int n, const sym_entry **out)
{
	resolve(c, frames, n, out, !checks);
	name_freed_as_cached(c, frames, checks, n, out);
}

int symcache__line(const symcache *c, const sym_entry *e, const py_frame_ref *f)
{
	const py_runtime *rt = c->rt;
	long offset;
	if (rt->instr_is_pointer) {
		uintptr_t first = e->code + (uintptr_t)rt->off->code_code_adaptive;
		offset = f->instr >= first ? (long)(f->instr - first) : 0;
	} else {
		offset = (long)(intptr_t)f->instr;
		if (offset < 0)
			return e->firstlineno;
		if (rt->lasti_in_units)
			offset *= 2;
	}
	if (!e->table_len || offset > INT_MAX)
		return e->firstlineno;
	int line = linetable__line_for((enum lt_format)rt->linetable_format, e->table, e->table_len,
				       e->firstlineno, (uint32_t)offset);
	return line > 0 ? line : e->firstlineno;
}
