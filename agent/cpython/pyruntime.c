/* The one place that knows CPython versions: locates the interpreter and chooses
 * the offsets, line-table format and frame layout every backend reads with. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

#include "filspy/memread.h"
#include "filspy/pyruntime.h"
#include "cpython/linetable.h"

bool pyruntime__present(void)
{
	return dlsym(RTLD_DEFAULT, "Py_GetVersion") != NULL;
}

/* Py_IsInitialized only reads a flag of _PyRuntime (zero until Py_Initialize, in
 * every version), so it is safe without the GIL and before main. */
bool pyruntime__running(void)
{
	int (*initialized)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
	return initialized && initialized();
}

/* Py_Version (3.11+) is PY_VERSION_HEX; older interpreters only say it as text,
 * and Py_GetVersion() only formats a static string, so it is safe before init. */
static int read_version(int *major, int *minor, int *micro)
{
	const unsigned long *hex = dlsym(RTLD_DEFAULT, "Py_Version");
	if (hex) {
		*major = (int)(*hex >> 24) & 0xff;
		*minor = (int)(*hex >> 16) & 0xff;
		*micro = (int)(*hex >> 8) & 0xff;
		return 0;
	}
	const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
	if (!get_version)
		return -ENOENT;
	*micro = 0;
	return sscanf(get_version(), "%d.%d.%d", major, minor, micro) >= 2 ? 0 : -ENOENT;
}

/* <= 3.10 PyThreadState.frame and 3.13+ current_frame point at the innermost frame;
 * 3.11/3.12 point at a _PyCFrame that does. */
static void choose_chain(const py_offsets *o, py_frame_chain *c)
{
	*c = (py_frame_chain){ .cframe_current_frame = PY_NO_OFFSET,
			       .cframe_previous = PY_NO_OFFSET };
	if (o->tstate_frame != PY_NO_OFFSET) {
		c->tstate_frame = o->tstate_frame;
	} else if (o->tstate_current_frame != PY_NO_OFFSET) {
		c->tstate_frame = o->tstate_current_frame;
	} else {
		c->tstate_frame = o->tstate_cframe;
		c->cframe_current_frame = o->cframe_current_frame;
		c->cframe_previous = o->cframe_previous;
	}
}

/* A word of static data at addr, or NULL. It is known readable for good when a
 * checked read finds it: it is in the data of the executable or of libpython,
 * which are never unmapped. A word that cannot be read then never can: the
 * finalizing flag reads as false and the interpreter list is empty, as a
 * failed read gave each round before. */
static const uintptr_t *static_word(uintptr_t addr)
{
	uintptr_t v;
	return addr && addr % sizeof(uintptr_t) == 0 && memread__word(addr, &v) == 0
		? (const uintptr_t *)addr : NULL;
}

static void find_static_words(py_runtime *rt)
{
	const py_offsets *o = rt->off;
	rt->finalizing_word = static_word(o->runtime_finalizing == PY_NO_OFFSET ? rt->finalizing_var
					  : rt->runtime + (uintptr_t)o->runtime_finalizing);
	if (rt->interpreters_head_fn) /* 3.6: no _PyRuntime */
		return;
	rt->interpreters_head_word = static_word(rt->runtime + (uintptr_t)o->runtime_interpreters_head);
	Dl_info info;
	const ElfW(Sym) *sym = NULL;
	if (dladdr1((void *)rt->runtime, &info, (void **)&sym, RTLD_DL_SYMENT) && sym &&
	    info.dli_saddr == (void *)rt->runtime && sym->st_size)
		rt->runtime_end = rt->runtime + (uintptr_t)sym->st_size;
}

int pyruntime__find(py_runtime *rt, const char **why)
{
	static char message[160];
	*rt = (py_runtime){ 0 };
	memread__init();
	if (read_version(&rt->major, &rt->minor, &rt->micro) < 0) {
		*why = "no CPython interpreter found in this process";
		return -ENOENT;
	}
	snprintf(rt->version, sizeof(rt->version), "%d.%d.%d", rt->major, rt->minor, rt->micro);
	rt->runtime = (uintptr_t)dlsym(RTLD_DEFAULT, "_PyRuntime");
	rt->off = pyoffsets__for_version(rt->major, rt->minor);
	rt->offsets_source = "the built-in table";
	const char *debug_why = NULL;
	/* 3.13+ describe themselves: trust that over a table built from headers */
	if (rt->runtime && pyversions__describes_itself(rt->major, rt->minor)) {
		static py_offsets from_debug;
		if (pydebug_offsets__read(rt->runtime, rt->minor, rt->off, &from_debug,
					  &debug_why) == 0) {
			rt->off = &from_debug;
			rt->offsets_source = "_Py_DebugOffsets";
		}
	}
	/* 3.6 predates _PyRuntime: its interpreter list has an accessor instead */
	if (!rt->runtime && rt->off && rt->minor == 6) {
		rt->interpreters_head_fn = (uintptr_t (*)(void))dlsym(RTLD_DEFAULT, "PyInterpreterState_Head");
		rt->is_initialized_fn = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
		rt->finalizing_var = (uintptr_t)dlsym(RTLD_DEFAULT, "_Py_Finalizing");
		if (rt->interpreters_head_fn && rt->is_initialized_fn)
			rt->runtime = 1; /* not an address: never read, only "found" */
	}
	if (!rt->runtime || !rt->off) {
		snprintf(message, sizeof(message),
			 "CPython %s is not supported by this build of filspy (%s)", rt->version,
			 !rt->runtime ? "no _PyRuntime symbol" :
			 debug_why ? debug_why : "no offsets for this version");
		*why = message;
		return -ENOTSUP;
	}
	if (rt->minor <= 9)
		rt->linetable_format = LT_LNOTAB;
	else if (rt->minor == 10)
		rt->linetable_format = LT_LINETABLE310;
	else
		rt->linetable_format = LT_LOCATIONS311;
	rt->lasti_in_units = rt->minor == 10;
	rt->instr_is_pointer = rt->minor >= 11;
	rt->managed_dict = rt->minor == 11 ? PY_MANAGED_VALUES_BEFORE :
			   rt->minor == 12 ? PY_MANAGED_VALUES_TAGGED : PY_MANAGED_DICT_ONLY;
	/* 3.14 tags the low bits of a frame's _PyStackRef to its code object */
	rt->code_tag_mask = rt->minor >= 14 ? ~(uintptr_t)3 : ~(uintptr_t)0;
	choose_chain(rt->off, &rt->chain);
	find_static_words(rt);
	*why = NULL;
	return 0;
}

static int read_int(uintptr_t addr, int *out)
{
	return memread__read(out, addr, sizeof(*out));
}

bool pyruntime__initialized(const py_runtime *rt)
{
	int v = 0;
	uintptr_t head = 0;
	if (rt->is_initialized_fn)
		return rt->is_initialized_fn(); /* reads one static int, takes no lock */
	if (rt->off->runtime_initialized != PY_NO_OFFSET)
		return read_int(rt->runtime + rt->off->runtime_initialized, &v) == 0 && v;
	/* a version known only by its debug offsets: an interpreter exists */
	return memread__word(rt->runtime + rt->off->runtime_interpreters_head, &head) == 0 && head;
}

bool pyruntime__finalizing(const py_runtime *rt)
{
	return rt->finalizing_word && __atomic_load_n(rt->finalizing_word, __ATOMIC_RELAXED) != 0;
}

uintptr_t pyruntime__interpreters_head(const py_runtime *rt)
{
	if (rt->interpreters_head_fn)
		return rt->interpreters_head_fn(); /* returns a static pointer, takes no lock */
	/* NULL: unreadable at start, so for good (static_word) */
	return rt->interpreters_head_word ? __atomic_load_n(rt->interpreters_head_word,
							    __ATOMIC_RELAXED) : 0;
}

int pyruntime__gil_fields(const py_runtime *rt, uintptr_t interp, uintptr_t *locked,
			  uintptr_t *holder)
{
	const py_offsets *o = rt->off;
	uintptr_t gil;
	if (o->interp_gil_locked != PY_NO_OFFSET) {
		*locked = interp + (uintptr_t)o->interp_gil_locked;
		*holder = interp + (uintptr_t)o->interp_gil_holder;
	} else if (o->runtime_gil_locked != PY_NO_OFFSET) {
		*locked = rt->runtime + (uintptr_t)o->runtime_gil_locked;
		*holder = rt->runtime + (uintptr_t)o->runtime_gil_holder;
	} else if (o->interp_gil != PY_NO_OFFSET) {
		if (memread__word(interp + o->interp_gil, &gil) < 0 || !gil)
			return -EFAULT;
		*locked = gil + (uintptr_t)o->gil_locked;
		*holder = gil + (uintptr_t)o->gil_holder;
	} else {
		return -ENOTSUP; /* 3.6 keeps its GIL in statics no symbol names */
	}
	return 0;
}

uintptr_t pyruntime__gil_holder(const py_runtime *rt, uintptr_t interp)
{
	uintptr_t locked_at, holder_at, holder = 0;
	int locked = 0;
	if (pyruntime__gil_fields(rt, interp, &locked_at, &holder_at) < 0 ||
	    read_int(locked_at, &locked) < 0 || memread__word(holder_at, &holder) < 0)
		return 0;
	return locked ? holder : 0;
}

int pyruntime__gil_range(const py_runtime *rt, uintptr_t interp, uintptr_t *start, size_t *size)
{
	const py_offsets *o = rt->off;
	uintptr_t gil = 0;
	if (o->gil_size <= 0)
		return -1;
	if (o->interp_gil != PY_NO_OFFSET) { /* 3.12+: a pointer, shared GIL or own */
		if (memread__word(interp + o->interp_gil, &gil) < 0 || !gil)
			return -1;
	} else if (o->runtime_gil != PY_NO_OFFSET) {
		gil = rt->runtime + o->runtime_gil;
	} else {
		return -1;
	}
	*start = gil;
	*size = (size_t)o->gil_size;
	return 0;
}

bool pyruntime__knows_gil(const py_runtime *rt)
{
	const py_offsets *o = rt->off;
	return o->interp_gil_locked != PY_NO_OFFSET || o->runtime_gil_locked != PY_NO_OFFSET ||
	       o->interp_gil != PY_NO_OFFSET;
}
