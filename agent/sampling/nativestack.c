/* Native stacks merged with Python frames (FIL_PERF_SPY_NATIVE). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filspy/native_api.h"
#include "sampling/nativestack.h"
#include "sampling/stackcache.h"
#include "sibling.h"

#define LIBRARY "libfilspy-native.so"
#define MAX_NATIVE 512
#define MAX_ITEMS (STACKS_MAX_DEPTH + MAX_NATIVE)
/* what the merge asks of a frame's symbol, answered once per pc: the name tests
 * are ~30 string compares a frame, and 3.6-3.10 run ~5 C frames per Python call */
#define KIND_SLOTS 4096u
enum { KIND_EVAL = 1, KIND_INTERPRETER = 2, KIND_LIBC = 4, KIND_PLUMBING = 8 };

struct native_stacks {
	void *library;
	const fsnative_interface_t *api;
	fsnative_session *session;
	uint64_t pcs[MAX_NATIVE];
	fsnative_symbol syms[MAX_NATIVE];
	char unnamed[MAX_NATIVE][24];  /* "0xOFFSET" of frames without a symbol */
	int group_end[STACKS_MAX_DEPTH]; /* per group of Python frames, innermost first:
					  * the index of its last (outermost) frame */
	unsigned char kinds[MAX_NATIVE];  /* of pcs[] */
	struct kind_slot {
		uint64_t pc;
		unsigned char kind;
	} kind_cache[KIND_SLOTS];        /* by pc, direct-mapped */
	int got;                          /* pcs of the last unwind */
	stack_item items[MAX_ITEMS];     /* built innermost first, then turned */
	uint64_t unwound, frames, mismatched;
};

native_stacks *nativestack__open(char *why, size_t size)
{
	native_stacks *ns = calloc(1, sizeof(*ns));
	if (!ns) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	ns->api = sibling__open(LIBRARY, FSNATIVE_INTERFACE_SYMBOL, &ns->library, why, size);
	if (ns->api && ns->api->version != FSNATIVE_INTERFACE_VERSION) {
		snprintf(why, size, "%s is from another filspy build", LIBRARY);
		ns->api = NULL;
	}
	if (ns->api)
		ns->session = ns->api->open(getpid(), why, size);
	if (!ns->session) {
		nativestack__close(ns);
		return NULL;
	}
	return ns;
}

void nativestack__close(native_stacks *ns)
{
	if (!ns)
		return;
	if (ns->session)
		ns->api->close(ns->session);
	if (ns->library)
		dlclose(ns->library);
	free(ns);
}

/* struct pt_regs (the ptrace layout) -> DWARF's x86-64 numbering */
static void dwarf_regs(const struct fsbpf_native *nat, uint64_t out[FSNATIVE_NREGS])
{
	static const int from_pt[FSNATIVE_NREGS] = {
		10 /* ax */, 12 /* dx */, 11 /* cx */, 5 /* bx */, 13 /* si */, 14 /* di */,
		4 /* bp */, FSBPF_PT_SP, 9 /* r8 */, 8, 7, 6, 3, 2, 1, 0 /* r15 */, FSBPF_PT_IP,
	};
	for (int r = 0; r < FSNATIVE_NREGS; r++)
		out[r] = nat->regs[from_pt[r]];
}

static bool starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The eval loop, and its parts GCC splits off (".cold", ".lto_priv.0") */
static bool is_eval(const fsnative_symbol *sym)
{
	static const char eval[] = "_PyEval_EvalFrameDefault";
	return sym->name && starts(sym->name, eval) &&
	       (!sym->name[sizeof(eval) - 1] || sym->name[sizeof(eval) - 1] == '.');
}

static bool in_interpreter(const fsnative_symbol *sym)
{
	return sym->module && (starts(sym->module, "libpython") || starts(sym->module, "python"));
}

static bool in_libc(const fsnative_symbol *sym)
{
	return sym->module && (starts(sym->module, "libc.so") || starts(sym->module, "libc-") ||
			       starts(sym->module, "ld-linux"));
}

/* The interpreter's calling machinery between two eval-loop frames, or between
 * one and the C function it calls: py-spy --native leaves it out too. */
static bool is_plumbing(const fsnative_symbol *sym)
{
	static const char *const prefixes[] = {
		"_PyEval_", "PyEval_", "_PyFunction_", "PyObject_Call", "PyObject_Vectorcall",
		"_PyObject_Call", "_PyObject_Vectorcall", "_PyObject_MakeTpCall", "_PyObject_FastCall",
		"PyVectorcall_", "_PyVectorcall", "method_vectorcall", "cfunction_call",
		"cfunction_vectorcall", "vectorcall_", "slot_tp_", "wrapper_call", "wrapperdescr_call",
		"function_code_fastcall", "call_function", "do_call_core", "_PyCFunction_",
		"_PyMethodDef_Raw", "method_call", "object_vacall", "_PyObject_Call_Prepend",
		"call_unbound", "vgetargs", "_Py_CheckFunctionResult",
	};
	if (!sym->name || !in_interpreter(sym))
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (starts(sym->name, prefixes[i]))
			return true;
	return false;
}

static unsigned char kind_of(native_stacks *ns, uint64_t pc, const fsnative_symbol *sym)
{
	struct kind_slot *k = &ns->kind_cache[(pc * 0x9e3779b97f4a7c15ull) >> 52 & (KIND_SLOTS - 1)];
	if (k->pc == pc && pc)
		return k->kind;
	unsigned char kind = (is_eval(sym) ? KIND_EVAL : 0) |
			     (in_interpreter(sym) ? KIND_INTERPRETER : 0) |
			     (in_libc(sym) ? KIND_LIBC : 0) | (is_plumbing(sym) ? KIND_PLUMBING : 0);
	/* a pc in no known module yet may be named by a later re-read of the maps */
	if (sym->module)
		*k = (struct kind_slot){ pc, kind };
	return kind;
}

/* Splits the Python frames into the runs of one eval-loop call each; returns how
 * many runs (group_end[g]: the last frame of run g, innermost run first). */
static int python_groups(native_stacks *ns, const bool *entry, bool every_frame, int depth)
{
	int groups = 0;
	for (int i = 0; i < depth; i++)
		if (every_frame || entry[i] || i == depth - 1)
			ns->group_end[groups++] = i;
	return groups;
}

static void add_python(native_stacks *ns, size_t *n, int from, int to)
{
	for (int i = from; i <= to && *n < MAX_ITEMS; i++)
		ns->items[(*n)++] = (stack_item){ .py = i };
}

static void add_native(native_stacks *ns, size_t *n, int j)
{
	const fsnative_symbol *sym = &ns->syms[j];
	const char *name = sym->name;
	if (!name) {
		snprintf(ns->unnamed[j], sizeof(ns->unnamed[j]), "0x%llx",
			 (unsigned long long)(sym->module ? sym->offset : ns->pcs[j]));
		name = ns->unnamed[j];
	}
	if (*n < MAX_ITEMS)
		ns->items[(*n)++] = (stack_item){ .py = -1, .name = name,
						  .file = sym->module ? sym->module : "" };
}

uint64_t nativestack__unwind(native_stacks *ns, int tid, const struct fsbpf_native *nat)
{
	uint64_t regs[FSNATIVE_NREGS];
	dwarf_regs(nat, regs);
	int got = ns->api->unwind(ns->session, tid, regs, (const uint8_t *)(nat + 1), nat->stack_len,
				  regs[FSNATIVE_REG_SP], ns->pcs, MAX_NATIVE);
	ns->got = got > 0 ? got : 0;
	if (got <= 0)
		return 0;
	ns->unwound++;
	ns->frames += (uint64_t)got;
	uint64_t key = 0;
	bool known = true;
	for (int j = 0; j < got; j++) {
		const fsnative_symbol *sym = &ns->syms[j];
		ns->api->symbolize(ns->session, ns->pcs[j], &ns->syms[j]);
		ns->kinds[j] = kind_of(ns, ns->pcs[j], sym);
		known &= sym->module != NULL;
		/* what the merge shows of the frame: its function, or its address */
		key = stackcache__mix(key, sym->name ? sym->start : ns->pcs[j]);
	}
	return known ? key | 1 : 0;
}

const stack_item *nativestack__merge(native_stacks *ns, const bool *entry, bool every_frame,
				     int depth, size_t *n)
{
	int got = ns->got;
	*n = 0;
	if (got <= 0)
		return NULL;
	int outermost_eval = -1, evals = 0;
	for (int j = 0; j < got; j++)
		if (ns->kinds[j] & KIND_EVAL) {
			outermost_eval = j;
			evals++;
		}
	int groups = python_groups(ns, entry, every_frame, depth);
	/* more eval-loop calls than runs of Python frames: the innermost call has not
	 * linked its first frame yet, or has unlinked its last (the thread was
	 * stopped in its prologue or epilogue); fewer: the stack copy ended before the
	 * outer ones, whose runs then go on top */
	int extra = evals > groups ? evals - groups : 0;
	ns->mismatched += evals != groups;
	int g = 0, next_py = 0;
	size_t k = 0;
	for (int j = 0; j < got; j++) {
		unsigned char kind = ns->kinds[j];
		if (kind & KIND_EVAL) {
			if (extra) {
				extra--;
			} else if (g < groups) {
				add_python(ns, &k, next_py, ns->group_end[g]);
				next_py = ns->group_end[g++] + 1;
			}
			continue;
		}
		/* below the first Python frame: the interpreter's start and libc's */
		if (outermost_eval >= 0 && j > outermost_eval &&
		    (kind & (KIND_INTERPRETER | KIND_LIBC)))
			continue;
		if (kind & KIND_PLUMBING)
			continue;
		add_native(ns, &k, j);
	}
	/* runs whose eval frames lie beyond the stack copy go on top */
	if (next_py < depth)
		add_python(ns, &k, next_py, depth - 1);
	for (size_t a = 0, b = k ? k - 1 : 0; a < b; a++, b--) {
		stack_item t = ns->items[a];
		ns->items[a] = ns->items[b];
		ns->items[b] = t;
	}
	*n = k;
	return ns->items;
}

void nativestack__counts(const native_stacks *ns, uint64_t *unwound, uint64_t *frames,
			 uint64_t *mismatched)
{
	*unwound = ns ? ns->unwound : 0;
	*frames = ns ? ns->frames : 0;
	*mismatched = ns ? ns->mismatched : 0;
}
